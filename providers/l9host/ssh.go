package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// connection: how a probe reaches the host. OpenSSH with the options of ssh/host-access.ts
// (the pinned known_hosts, the deploy key from the stack's agent, the operation's shared
// connection). No key material.
type connection struct {
	Host       string
	Port       int
	User       string
	SSHOptions []string
}

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
			if e.IsString() {
				c.SSHOptions = append(c.SSHOptions, e.StringValue())
			}
		}
	}
	if c.Host == "" || c.User == "" || c.Port == 0 {
		return connection{}, fmt.Errorf("the probe's connection is incomplete (host %q, port %d, user %q)", c.Host, c.Port, c.User)
	}
	return c, nil
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

// sshArgs: the ssh command line that runs `script` with sh on the host.
func sshArgs(c connection, script string) []string {
	args := append([]string{}, c.SSHOptions...)
	return append(args, "-p", strconv.Itoa(c.Port), c.User+"@"+c.Host, "sh -c "+shellQuote(script))
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

func runOnce(c connection, script string) scriptResult {
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
