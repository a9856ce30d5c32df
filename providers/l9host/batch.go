package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A refresh reads a host's probes at once (the env file, both worktrees), each through its
// own SSH session on the operation's shared connection. Under load every session costs 0.5 to
// 1.6 s on the sandbox (the client, the master's channel, sshd's session and a shell), and the
// slowest one holds up the containers' refresh and the gate (docs/performance.md, eighth
// round). So probes of one connection that arrive within batchWindow of the first run
// together, in one session, and each gets its own stdout, stderr and exit status back.
const batchWindow = 40 * time.Millisecond

// probeBatcher collects the reads of one connection for batchWindow, then runs them in one
// session with runBatch.
type probeBatcher struct {
	window time.Duration
	// runs the scripts in one session; one result per script, in order.
	runBatch func(c connection, scripts []string) []scriptResult
	mu       sync.Mutex
	open     map[string]*pendingBatch
}

type pendingBatch struct {
	conn    connection
	scripts []string
	waiters []chan scriptResult
}

func newProbeBatcher(window time.Duration, runBatch func(c connection, scripts []string) []scriptResult) *probeBatcher {
	return &probeBatcher{window: window, runBatch: runBatch, open: map[string]*pendingBatch{}}
}

// connectionKey: reads share a session only when everything ssh is given is the same.
func connectionKey(c connection) string {
	return strings.Join(append([]string{c.User, c.Host, strconv.Itoa(c.Port)}, c.SSHOptions...), "\x00")
}

// run adds the script to the connection's open batch (opening one, and its timer, if none
// is) and waits for its result.
func (b *probeBatcher) run(c connection, script string) scriptResult {
	key := connectionKey(c)
	done := make(chan scriptResult, 1)
	b.mu.Lock()
	batch := b.open[key]
	if batch == nil {
		batch = &pendingBatch{conn: c}
		b.open[key] = batch
		time.AfterFunc(b.window, func() { b.flush(key, batch) })
	}
	batch.scripts = append(batch.scripts, script)
	batch.waiters = append(batch.waiters, done)
	b.mu.Unlock()
	return <-done
}

func (b *probeBatcher) flush(key string, batch *pendingBatch) {
	b.mu.Lock()
	if b.open[key] == batch {
		delete(b.open, key)
	}
	b.mu.Unlock()
	results := b.runBatch(batch.conn, batch.scripts)
	for i, done := range batch.waiters {
		done <- results[i]
	}
}

// renderBatchScript: the scripts one after another, each in its own `sh -c` with no stdin,
// each followed by a line naming it and its exit status on stdout and a line naming it on
// stderr. The marker is random per batch, so no script's output can forge one.
func renderBatchScript(marker string, scripts []string) string {
	var b strings.Builder
	for i, s := range scripts {
		fmt.Fprintf(&b, "sh -c %s </dev/null\n", shellQuote(s))
		fmt.Fprintf(&b, "printf '\\n%%s %%s\\n' %s \"$?\"\n", shellQuote(fmt.Sprintf("%s %d", marker, i)))
		fmt.Fprintf(&b, "printf '\\n%%s\\n' %s >&2\n", shellQuote(fmt.Sprintf("%s %d", marker, i)))
	}
	b.WriteString("exit 0\n")
	return b.String()
}

func newMarker() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		// No randomness: a fixed marker still works for scripts that do not print it.
		return "l9-probe-batch"
	}
	return "l9-probe-" + hex.EncodeToString(b)
}

// splitBatchOutput: each script's result from the batch's streams. A script whose marker
// never came (the session ended early) gets the session's exit status (255 when the session
// itself exited 0) and what the session wrote to stderr after the last finished script, never
// another script's words.
func splitBatchOutput(marker string, count int, session scriptResult) []scriptResult {
	results := make([]scriptResult, count)
	outEnd := regexp.MustCompile(`\n` + regexp.QuoteMeta(marker) + ` (\d+) (\d+)\n`)
	errEnd := regexp.MustCompile(`\n` + regexp.QuoteMeta(marker) + ` (\d+)\n`)
	seen := make([]bool, count)
	from := 0
	for _, m := range outEnd.FindAllStringSubmatchIndex(session.stdout, -1) {
		i, _ := strconv.Atoi(session.stdout[m[2]:m[3]])
		code, _ := strconv.Atoi(session.stdout[m[4]:m[5]])
		if i >= count || seen[i] {
			continue
		}
		results[i].stdout = session.stdout[from:m[0]]
		results[i].code = code
		seen[i] = true
		from = m[1]
	}
	errSeen := make([]bool, count)
	from = 0
	for _, m := range errEnd.FindAllStringSubmatchIndex(session.stderr, -1) {
		i, _ := strconv.Atoi(session.stderr[m[2]:m[3]])
		if i >= count || errSeen[i] {
			continue
		}
		results[i].stderr = session.stderr[from:m[0]]
		errSeen[i] = true
		from = m[1]
	}
	for i := range results {
		if !seen[i] {
			code := session.code
			if code == 0 {
				code = 255
			}
			// What the session wrote after the last finished script: ssh's own words on why it ended.
			results[i] = scriptResult{stderr: session.stderr[from:], code: code}
		}
	}
	return results
}

// runProbeBatch runs the scripts in one session, retried like a single probe when SSH itself
// could not connect (the scripts only read).
func runProbeBatch(c connection, scripts []string) []scriptResult {
	if len(scripts) == 1 {
		return []scriptResult{runProbeScript(c, scripts[0], 4, time.Sleep)}
	}
	marker := newMarker()
	session := runProbeScript(c, renderBatchScript(marker, scripts), 4, time.Sleep)
	return splitBatchOutput(marker, len(scripts), session)
}
