package main

import (
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// The batch script runs for real in sh: each script's stdout, stderr and exit status come
// back apart, whatever it prints (no final newline, text like a marker, nothing at all).
func TestBatchScriptSplitsEachResult(t *testing.T) {
	scripts := []string{
		"echo a=1; echo b=2",
		"printf 'no_newline=yes'; echo oops >&2; exit 3",
		"",
		"echo 'l9-probe-0 0 0'; echo \"it's=quoted\"; echo err1 >&2; echo err2 >&2",
	}
	marker := newMarker()
	cmd := exec.Command("sh", "-c", renderBatchScript(marker, scripts))
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("batch script: %v\n%s", err, errOut.String())
	}
	got := splitBatchOutput(marker, len(scripts), scriptResult{stdout: out.String(), stderr: errOut.String()})
	want := []scriptResult{
		{stdout: "a=1\nb=2\n"},
		{stdout: "no_newline=yes", stderr: "oops\n", code: 3},
		{},
		{stdout: "l9-probe-0 0 0\nit's=quoted\n", stderr: "err1\nerr2\n"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("split = %#v\nwant %#v", got, want)
	}
}

// A session that ended before a script's marker: that script fails with the session's
// status (255 when ssh said 0) and only what ssh wrote after the last finished script; the ones
// before it keep their results.
func TestBatchCutShortFailsTheRest(t *testing.T) {
	marker := "l9-probe-x"
	session := scriptResult{stdout: "a=1\n\nl9-probe-x 0 0\npartial=", stderr: "Permission denied (first script's words)\nl9-probe-x 0\nConnection closed", code: 255}
	got := splitBatchOutput(marker, 2, session)
	if got[0].stdout != "a=1\n" || got[0].code != 0 || got[0].stderr != "Permission denied (first script's words)" {
		t.Fatalf("first result = %#v", got[0])
	}
	if got[1].code != 255 || got[1].stderr != "Connection closed" || got[1].stdout != "" {
		t.Fatalf("second result = %#v", got[1])
	}
	if r := splitBatchOutput(marker, 1, scriptResult{stdout: "x=1\n"}); r[0].code != 255 {
		t.Fatalf("no marker with status 0 must fail, got %#v", r[0])
	}
}

// Reads of one connection within the window share one session; another connection, or a
// read after the window, gets its own.
func TestBatcherGroupsReadsByConnectionAndWindow(t *testing.T) {
	var mu sync.Mutex
	var sessions [][]string
	b := newProbeBatcher(50*time.Millisecond, func(c connection, scripts []string) []scriptResult {
		mu.Lock()
		sessions = append(sessions, append([]string{c.Host}, scripts...))
		mu.Unlock()
		results := make([]scriptResult, len(scripts))
		for i, s := range scripts {
			results[i] = scriptResult{stdout: "ran=" + s + "\n"}
		}
		return results
	})
	h1 := connection{Host: "203.0.113.10", Port: 22, User: "deploy"}
	h2 := connection{Host: "203.0.113.11", Port: 22, User: "deploy"}
	var wg sync.WaitGroup
	got := make([]string, 3)
	for i, c := range []connection{h1, h1, h2} {
		wg.Add(1)
		go func(i int, c connection) {
			defer wg.Done()
			got[i] = b.run(c, string(rune('a'+i))).stdout
		}(i, c)
	}
	wg.Wait()
	if !reflect.DeepEqual(got, []string{"ran=a\n", "ran=b\n", "ran=c\n"}) {
		t.Fatalf("each read must get its own result: %v", got)
	}
	if late := b.run(h1, "d").stdout; late != "ran=d\n" {
		t.Fatalf("late read: %q", late)
	}
	if len(sessions) != 3 {
		t.Fatalf("want 3 sessions (h1's two reads, h2's, the late read), got %v", sessions)
	}
	for _, s := range sessions {
		if s[0] == h1.Host && len(s) == 3 {
			return
		}
	}
	t.Fatalf("h1's two reads did not share a session: %v", sessions)
}
