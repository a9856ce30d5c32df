package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func probeInputs(expect map[string]string) resource.PropertyMap {
	return resource.PropertyMap{
		keyConnection: resource.NewObjectProperty(resource.PropertyMap{
			"host": resource.NewStringProperty("203.0.113.10"), "port": resource.NewNumberProperty(22),
			"user": resource.NewStringProperty("deploy"), "sshOptions": resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("-o"), resource.NewStringProperty("BatchMode=yes")}),
		}),
		keyWhat:   resource.NewStringProperty("worktree v1.2.0-l9"),
		keyScript: resource.NewStringProperty("echo at_tag=yes"),
		keyExpect: stringMapValue(expect),
	}
}

func TestParseFacts(t *testing.T) {
	got := parseFacts("at_tag=yes\nnoise\nclean=no (1 tracked files modified) \n=x\nbad key=1\n")
	want := map[string]string{"at_tag": "yes", "clean": "no (1 tracked files modified)"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseFacts = %v, want %v", got, want)
	}
}

func TestFactDrift(t *testing.T) {
	if got := factDrift(map[string]string{"at_tag": "yes", "clean": "yes"}, map[string]string{"at_tag": "yes", "clean": "no"}); !reflect.DeepEqual(got, []string{`clean: declared "yes", found "no"`}) {
		t.Fatalf("drift = %v", got)
	}
	if got := factDrift(map[string]string{"a": "1"}, map[string]string{}); !reflect.DeepEqual(got, []string{`a: declared "1", found "(missing)"`}) {
		t.Fatalf("missing fact = %v", got)
	}
	if got := factDrift(map[string]string{"a": "1"}, nil); got != nil {
		t.Fatalf("nothing read yet is no drift, got %v", got)
	}
}

// The life of a probe: created (nothing read), refreshed clean (no change), refreshed with
// drift (a change, then a new generation that re-applies the owning command), healed.
func TestProbeLifecycle(t *testing.T) {
	declared := map[string]string{"at_tag": "yes", "clean": "yes"}
	id, state := createProbe(probeInputs(declared), "g1")
	if id != "probe-g1" || state[keyGeneration].StringValue() != "g1" || !state[keyDeclared].DeepEquals(stringMapValue(declared)) {
		t.Fatalf("create: %s %v", id, state)
	}
	if diffProbe(state, probeInputs(declared)) {
		t.Fatal("an unchanged probe never read is not a change")
	}

	outs, ins := readProbe(state, "at_tag=yes\nclean=yes\n")
	if diffProbe(outs, probeInputs(declared)) {
		t.Fatal("a clean refresh is not a change")
	}
	if !ins[keyExpect].DeepEquals(stringMapValue(declared)) || ins.HasValue(keyGeneration) || ins.HasValue(keyDeclared) {
		t.Fatalf("refreshed inputs: %v", ins)
	}

	outs, ins = readProbe(outs, "at_tag=yes\nclean=no (1 tracked files modified)\n")
	if !ins[keyExpect].DeepEquals(stringMapValue(map[string]string{"at_tag": "yes", "clean": "no (1 tracked files modified)"})) {
		t.Fatalf("the refreshed expect is what was found (the preview shows found => declared): %v", ins[keyExpect])
	}
	if !outs[keyDeclared].DeepEquals(stringMapValue(declared)) {
		t.Fatalf("a refresh keeps what was declared: %v", outs[keyDeclared])
	}
	if !diffProbe(outs, probeInputs(declared)) {
		t.Fatal("drift is a change")
	}
	healed := updateProbe(outs, probeInputs(declared), "g2")
	if healed[keyGeneration].StringValue() != "g2" {
		t.Fatalf("drift issues a new generation: %v", healed[keyGeneration])
	}
	if healed.HasValue(keyObserved) {
		t.Fatal("an update forgets what the last refresh observed")
	}

	// A changed declaration alone is a change, but no new generation: the owning command
	// sees that change itself.
	_, fresh := createProbe(probeInputs(declared), "g3")
	moved := probeInputs(map[string]string{"at_tag": "yes", "clean": "yes", "extra": "1"})
	if !diffProbe(fresh, moved) || updateProbe(fresh, moved, "g4")[keyGeneration].StringValue() != "g3" {
		t.Fatal("a new declaration keeps the generation")
	}
	unknown := probeInputs(declared)
	unknown[keyExpect] = resource.MakeComputed(resource.NewStringProperty(""))
	if !diffProbe(fresh, unknown) {
		t.Fatal("an unknown input (preview) counts as a change")
	}
}

func TestMigratedStateDropsTheDynamicProvider(t *testing.T) {
	_, state := createProbe(probeInputs(map[string]string{"a": "1"}), "g1")
	state[keyDynamicProvider] = resource.NewStringProperty("exports.handler = ...")
	outs, ins := readProbe(state, "a=1\n")
	if outs.HasValue(keyDynamicProvider) || ins.HasValue(keyDynamicProvider) {
		t.Fatal("the Node.js dynamic provider's code is not carried on")
	}
	if diffProbe(state, probeInputs(map[string]string{"a": "1"})) {
		t.Fatal("the dynamic provider's code is not an input")
	}
}

// The script reaches the remote shell as one single-quoted word: a payload that would leave
// a trace if a local shell expanded it runs nowhere but in the quoted text. The destination
// follows "--", so ssh never reads it as an option.
func TestSSHArgsQuoteTheScript(t *testing.T) {
	c := connection{Host: "203.0.113.10", Port: 2222, User: "deploy", SSHOptions: []string{"-o", "BatchMode=yes"}}
	trace := filepath.Join(t.TempDir(), "pwned")
	script := "echo it's $(touch " + trace + ") `touch " + trace + "`"
	args := sshArgs(c, script)
	want := []string{"-o", "BatchMode=yes", "-p", "2222", "--", "deploy@203.0.113.10", `sh -c 'echo it'\''s $(touch ` + trace + `) ` + "`touch " + trace + "`'"}
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("ssh args:\n%q\nwant\n%q", args, want)
	}
	// The remote side runs the last argument with a shell: it must give back the script verbatim.
	out, err := exec.Command("sh", "-c", "printf %s "+strings.TrimPrefix(args[len(args)-1], "sh -c ")).Output()
	if err != nil || string(out) != script {
		t.Fatalf("the quoted script came back as %q (%v)", out, err)
	}
	if _, err := os.Stat(trace); err == nil {
		t.Fatal("the payload ran")
	}
}

func TestRetriesOnlyAFailureToConnect(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "calls")
	// A stand-in for ssh: exits with the code and message the test sets, counting its calls.
	fake := "#!/bin/sh\necho x >> " + counter + "\necho \"$FAKE_SSH_STDERR\" >&2\nexit $FAKE_SSH_EXIT\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	c := connection{Host: "203.0.113.10", Port: 22, User: "deploy"}
	calls := func() int { b, _ := os.ReadFile(counter); os.Remove(counter); return strings.Count(string(b), "x") }
	var pauses []time.Duration
	pause := func(d time.Duration) { pauses = append(pauses, d) }

	t.Setenv("FAKE_SSH_EXIT", "255")
	t.Setenv("FAKE_SSH_STDERR", "ssh: connect to host 203.0.113.10 port 22: Connection refused")
	r := runProbeScript(c, "true", 4, pause)
	if r.code != 255 || calls() != 4 || !reflect.DeepEqual(pauses, []time.Duration{2 * time.Second, 4 * time.Second, 6 * time.Second}) {
		t.Fatalf("a refused connection is retried: code %d, pauses %v", r.code, pauses)
	}
	if msg := describeProbeFailure("worktree (probe)", c, r); !strings.HasPrefix(msg, "worktree (probe): cannot reach 203.0.113.10:22 over SSH (exit 255):\nssh: connect") {
		t.Fatalf("message: %s", msg)
	}

	t.Setenv("FAKE_SSH_STDERR", "Host key verification failed.")
	if r := runProbeScript(c, "true", 4, pause); calls() != 1 || !strings.Contains(describeProbeFailure("env file (probe)", c, r), "does not match the pinned hostKey") {
		t.Fatal("a changed host key is not retried, and is named")
	}

	// No ssh at all: not retried, and said so.
	path := os.Getenv("PATH")
	os.Remove(filepath.Join(dir, "ssh"))
	t.Setenv("PATH", dir)
	if r := runProbeScript(c, "true", 4, pause); r.code != notStarted || calls() != 0 || !strings.Contains(describeProbeFailure("worktree (probe)", c, r), "cannot run ssh on this machine") {
		t.Fatalf("a missing ssh: code %d, %s", r.code, describeProbeFailure("worktree (probe)", c, r))
	}
	t.Setenv("PATH", path)
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}

	t.Setenv("FAKE_SSH_EXIT", "3")
	t.Setenv("FAKE_SSH_STDERR", "fatal: not a git repository")
	if r := runProbeScript(c, "true", 4, pause); calls() != 1 || describeProbeFailure("worktree (probe)", c, r) != "worktree (probe) (exit 3):\nfatal: not a git repository" {
		t.Fatal("a script failure is not retried, and shows its output")
	}
}
