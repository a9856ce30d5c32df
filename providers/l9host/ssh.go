package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// connection: how a probe reaches the host. OpenSSH with the options of ssh/openssh-options.ts
// (the pinned known_hosts, the deploy key from the stack's agent, the operation's shared
// connection). No key material.
type connection struct {
	Host       string
	Port       int
	User       string
	SSHOptions []string
}

// connectionOf reads a probe's connection (from its inputs or its state) and refuses one
// that ssh/openssh-options.ts would not have written.
func connectionOf(v resource.PropertyValue) (connection, error) {
	if !v.IsObject() {
		return connection{}, errors.New("the probe has no connection")
	}
	o := v.ObjectValue()
	c := connection{}
	if h := o["host"]; h.IsString() {
		c.Host = h.StringValue()
	}
	if u := o["user"]; u.IsString() {
		c.User = u.StringValue()
	}
	if p := o["port"]; p.IsNumber() {
		c.Port = int(p.NumberValue())
	}
	if opts := o["sshOptions"]; opts.IsArray() {
		for _, e := range opts.ArrayValue() {
			if !e.IsString() {
				return connection{}, fmt.Errorf("the probe's ssh options carry a value that is not a string (%v); refusing to run ssh with it", e)
			}
			c.SSHOptions = append(c.SSHOptions, e.StringValue())
		}
	}
	if c.Host == "" || c.User == "" || c.Port == 0 {
		return connection{}, fmt.Errorf("the probe's connection is incomplete (host %q, port %d, user %q)", c.Host, c.Port, c.User)
	}
	// The connection may come from the state: only what ssh/openssh-options.ts writes runs ssh.
	if err := checkDestination(c.User, c.Host); err != nil {
		return connection{}, err
	}
	if err := checkSSHOptions(c.SSHOptions); err != nil {
		return connection{}, err
	}
	return c, nil
}

// checkConnectionInput: what Check says of a probe's connection, "" when fine. Values not
// known yet (a preview) are left to the refresh, which reads the connection with connectionOf.
func checkConnectionInput(v resource.PropertyValue) string {
	if v.ContainsUnknowns() || v.ContainsSecrets() || !v.IsObject() {
		return ""
	}
	if _, err := connectionOf(v); err != nil {
		return err.Error()
	}
	return ""
}

type scriptResult struct {
	stdout, stderr string
	// The script's (or ssh's) exit status; notStarted when ssh itself could not be run.
	code int
}

// notStarted: ssh could not be run on this machine (not installed, cannot fork).
const notStarted = -1

// shellQuote: one single-quoted word for the remote shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sshArgs: the ssh command line that runs `script` with sh on the host. The destination
// follows `--`: it is never read as an option.
func sshArgs(c connection, script string) []string {
	args := append([]string{}, c.SSHOptions...)
	return append(args, "-p", strconv.Itoa(c.Port), "--", c.User+"@"+c.Host, "sh -c "+shellQuote(script))
}

var refused = regexp.MustCompile(`(?i)Host key verification failed|IDENTIFICATION HAS CHANGED|Permission denied`)

// runProbeScript runs a read-only script on the host. It retries only when SSH itself could
// not connect (exit 255 without a host-key or authentication refusal), never a script failure.
func runProbeScript(c connection, script string, attempts int, pause func(time.Duration)) scriptResult {
	var r scriptResult
	for attempt := 1; attempt <= attempts; attempt++ {
		r = runOnce(c, script)
		if r.code != 255 || refused.MatchString(r.stderr) || attempt == attempts {
			// notStarted is not 255 either: a missing ssh is not retried.
			break
		}
		pause(time.Duration(2*attempt) * time.Second)
	}
	return r
}

// withoutMissingControlPath: the options without the shared connection (ControlMaster,
// ControlPath, ControlPersist) when the control socket's directory does not exist on this
// machine: OpenSSH cannot bind the socket there and gives up (exit 255). That is a refresh
// reading with the connection of the state, written by an operation whose private control
// directory is gone (this machine rebooted, or it was another machine). The probe then
// connects on its own, with the same pinned key and deploy key.
func withoutMissingControlPath(opts []string) []string {
	missing := false
	for i := 0; i+1 < len(opts); i++ {
		if opts[i] == "-o" && strings.HasPrefix(strings.ToLower(opts[i+1]), "controlpath=") {
			dir := filepath.Dir(opts[i+1][len("controlpath="):])
			if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
				missing = true
			}
		}
	}
	if !missing {
		return opts
	}
	var kept []string
	for i := 0; i < len(opts); i++ {
		if opts[i] == "-o" && i+1 < len(opts) {
			key := strings.ToLower(strings.SplitN(opts[i+1], "=", 2)[0])
			if key == "controlmaster" || key == "controlpath" || key == "controlpersist" {
				i++
				continue
			}
		}
		kept = append(kept, opts[i])
	}
	return kept
}

func runOnce(c connection, script string) scriptResult {
	c.SSHOptions = withoutMissingControlPath(c.SSHOptions)
	cmd := exec.Command("ssh", sshArgs(c, script)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit) && exit.ExitCode() >= 0:
			code = exit.ExitCode()
		case errors.As(err, &exit):
			code = 255 // killed by a signal
			stderr.WriteString(err.Error())
		default:
			code = notStarted
			stderr.WriteString(err.Error())
		}
	}
	return scriptResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

var hostKeyChanged = regexp.MustCompile(`(?i)Host key verification failed|IDENTIFICATION HAS CHANGED`)
var agentOrAuth = regexp.MustCompile(`(?i)agent|Permission denied`)

// describeProbeFailure names the facts and says whether SSH or the script failed.
func describeProbeFailure(what string, c connection, r scriptResult) string {
	out := strings.TrimSpace(r.stderr)
	if out == "" {
		out = strings.TrimSpace(r.stdout)
	}
	if out == "" {
		out = "(no output)"
	}
	switch {
	case r.code == notStarted:
		return fmt.Sprintf("%s: cannot run ssh on this machine (OpenSSH's client is needed): %s", what, out)
	case hostKeyChanged.MatchString(r.stderr):
		return fmt.Sprintf("%s: the host's SSH key does not match the pinned hostKey; refusing to connect.\n%s", what, out)
	case r.code == 255 && agentOrAuth.MatchString(r.stderr):
		return fmt.Sprintf("%s: the stack's SSH agent does not hold the deploy key. Refresh and destroy must run the program, which loads it: set PULUMI_RUN_PROGRAM=true (or pass --run-program).\n%s", what, out)
	case r.code == 255:
		return fmt.Sprintf("%s: cannot reach %s:%d over SSH (exit 255):\n%s", what, c.Host, c.Port, out)
	default:
		return fmt.Sprintf("%s (exit %d):\n%s", what, r.code, out)
	}
}
