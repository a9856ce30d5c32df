package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// What ssh/host-access.ts writes (probeSshOptions), as the golden file the TypeScript unit
// tests pin it: every form it holds is accepted, so the two sides cannot drift apart.
func writtenOptions(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "test", "unit", "golden", "probe-ssh-options.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestAcceptsTheOptionsHostAccessWrites(t *testing.T) {
	opts := writtenOptions(t)
	if len(opts) < 30 || opts[0] != "-F" || opts[1] != "none" {
		t.Fatalf("the golden probe options start with -F none and hold every setting: %q", opts)
	}
	if err := checkSSHOptions(opts); err != nil {
		t.Fatalf("the options ssh/host-access.ts writes are refused: %v", err)
	}
	// A state written before -F none and the explicit KnownHostsCommand/VerifyHostKeyDNS.
	var older []string
	for i := 0; i < len(opts); i++ {
		if opts[i] == "-F" || strings.HasPrefix(opts[i], "KnownHostsCommand=") || strings.HasPrefix(opts[i], "VerifyHostKeyDNS=") {
			if opts[i] == "-F" {
				i++ // its "none"
			} else {
				older = older[:len(older)-1] // its "-o"
			}
			continue
		}
		older = append(older, opts[i])
	}
	if err := checkSSHOptions(older); err != nil || len(older) != len(opts)-6 {
		t.Fatalf("the options of an older state are refused (%v): %q", err, older)
	}
	if err := checkSSHOptions(nil); err != nil {
		t.Fatalf("no options: %v", err)
	}
	if err := checkSSHOptions([]string{"-o", "stricthostkeychecking=yes", "-o", "CONNECTTIMEOUT=15"}); err != nil {
		t.Fatalf("OpenSSH keys are case-insensitive: %v", err)
	}
}

// Options that would run code on this machine, read a config that could, or widen the
// trust in the host's key: refused, naming the option.
func TestRefusesOptionsItDoesNotWrite(t *testing.T) {
	cases := []struct {
		name  string
		opts  []string
		named string
	}{
		{"ProxyCommand", []string{"-o", "ProxyCommand=sh -c 'touch /tmp/pwned'"}, "ProxyCommand"},
		{"ProxyCommand in lower case", []string{"-o", "proxycommand=touch /tmp/pwned"}, "proxycommand"},
		{"ProxyCommand in mixed case", []string{"-o", "PROXYCommand=touch /tmp/pwned"}, "PROXYCommand"},
		{"LocalCommand", []string{"-o", "LocalCommand=touch /tmp/pwned"}, "LocalCommand"},
		{"PermitLocalCommand", []string{"-o", "PermitLocalCommand=yes"}, "PermitLocalCommand"},
		{"KnownHostsCommand with a command", []string{"-o", "KnownHostsCommand=/bin/sh -c 'touch /tmp/pwned'"}, "KnownHostsCommand"},
		{"Include", []string{"-o", "Include=/tmp/evil_config"}, "Include"},
		{"ProxyJump", []string{"-o", "ProxyJump=evil.example"}, "ProxyJump"},
		{"PKCS11Provider", []string{"-o", "PKCS11Provider=/tmp/evil.so"}, "PKCS11Provider"},
		{"VerifyHostKeyDNS=yes", []string{"-o", "VerifyHostKeyDNS=yes"}, "VerifyHostKeyDNS"},
		{"StrictHostKeyChecking=accept-new (trust on first use)", []string{"-o", "StrictHostKeyChecking=accept-new"}, "StrictHostKeyChecking"},
		{"a glued -oProxyCommand", []string{"-oProxyCommand=touch /tmp/pwned"}, "-oProxyCommand"},
		{"a glued -oBatchMode", []string{"-oBatchMode=yes"}, "-oBatchMode"},
		{"-F with a file", []string{"-F", "/some/file"}, "/some/file"},
		{"-F at the end", []string{"-o", "BatchMode=yes", "-F"}, "-F"},
		{"a glued -Fnone", []string{"-Fnone"}, "-Fnone"},
		{"a bare argument", []string{"-o", "BatchMode=yes", "evil.example"}, "evil.example"},
		{"another flag", []string{"-v"}, "-v"},
		{"-o at the end", []string{"-o", "BatchMode=yes", "-o"}, "-o"},
		{"Key Value with a space", []string{"-o", "ProxyCommand touch /tmp/pwned"}, "ProxyCommand"},
		{"a leading space", []string{"-o", " ProxyCommand=touch /tmp/pwned"}, "ProxyCommand"},
		{"a second line in a value", []string{"-o", "IdentityFile=/x\nProxyCommand=touch /tmp/pwned"}, "IdentityFile"},
		{"a number that is not", []string{"-o", "ConnectTimeout=15 ProxyCommand=x"}, "ConnectTimeout"},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			// Placed among the options that are accepted, too.
			for _, opts := range [][]string{c.opts, append(append(writtenOptions(t), c.opts...), "-o", "BatchMode=yes")} {
				err := checkSSHOptions(opts)
				if err == nil {
					t.Fatalf("accepted %q", opts)
				}
				if !strings.Contains(err.Error(), c.named) || !strings.Contains(err.Error(), "ssh options") {
					t.Fatalf("the error does not name %q: %v", c.named, err)
				}
			}
		})
	}
}

func connectionValue(user, host string, opts ...string) resource.PropertyValue {
	arr := []resource.PropertyValue{}
	for _, o := range opts {
		arr = append(arr, resource.NewStringProperty(o))
	}
	return resource.NewObjectProperty(resource.PropertyMap{
		"host": resource.NewStringProperty(host), "port": resource.NewNumberProperty(22),
		"user": resource.NewStringProperty(user), "sshOptions": resource.NewArrayProperty(arr),
	})
}

// A connection read from the state runs ssh only with what ssh/host-access.ts writes; a
// preview's Check refuses the same.
func TestConnectionFromStateIsChecked(t *testing.T) {
	if _, err := connectionOf(connectionValue("deploy", "203.0.113.10", writtenOptions(t)...)); err != nil {
		t.Fatalf("the written connection: %v", err)
	}
	if _, err := connectionOf(connectionValue("deploy", "2001:db8::1", "-o", "BatchMode=yes")); err != nil {
		t.Fatalf("an IPv6 host: %v", err)
	}
	_, err := connectionOf(connectionValue("deploy", "203.0.113.10", "-o", "BatchMode=yes", "-oProxyCommand=touch /tmp/pwned"))
	if err == nil || !strings.Contains(err.Error(), "-oProxyCommand") {
		t.Fatalf("a ProxyCommand in the state: %v", err)
	}
	// A user that ssh would read as an option (were it not after --), or a host with more than a name.
	for _, bad := range [][2]string{{"-oProxyCommand=touch /tmp/pwned", "203.0.113.10"}, {"deploy", "-oProxyCommand=x"}, {"de ploy", "203.0.113.10"}, {"deploy", "a@b"}} {
		if _, err := connectionOf(connectionValue(bad[0], bad[1])); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Fatalf("user %q host %q: %v", bad[0], bad[1], err)
		}
	}
	notString := resource.NewObjectProperty(resource.PropertyMap{
		"host": resource.NewStringProperty("203.0.113.10"), "port": resource.NewNumberProperty(22), "user": resource.NewStringProperty("deploy"),
		"sshOptions": resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("-o"), resource.NewNumberProperty(1)}),
	})
	if _, err := connectionOf(notString); err == nil {
		t.Fatal("an option that is not a string is refused")
	}

	if reason := checkConnectionInput(connectionValue("deploy", "203.0.113.10", "-o", "LocalCommand=x")); !strings.Contains(reason, "LocalCommand") {
		t.Fatalf("Check: %q", reason)
	}
	if reason := checkConnectionInput(connectionValue("deploy", "203.0.113.10", writtenOptions(t)...)); reason != "" {
		t.Fatalf("Check of the written connection: %q", reason)
	}
	unknown := resource.MakeComputed(resource.NewStringProperty(""))
	if reason := checkConnectionInput(unknown); reason != "" {
		t.Fatalf("Check of an unknown connection: %q", reason)
	}
}

// Even were a bad option to reach it, no probe runs ssh with it: a stand-in ssh on PATH
// records whether it was started.
func TestRefusedStateNeverStartsSSH(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "ran")
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte("#!/bin/sh\ntouch "+trace+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	state := probeInputs(map[string]string{"a": "1"})
	state[keyConnection] = connectionValue("deploy", "203.0.113.10", "-o", "ProxyCommand=touch "+trace)
	marshalled, err := plugin.MarshalProperties(state, props)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (probeProvider{}).Read(context.Background(), &pulumirpc.ReadRequest{Id: "probe-g1", Properties: marshalled}); err == nil || !strings.Contains(err.Error(), "ProxyCommand") {
		t.Fatalf("read: %v", err)
	}
	if _, err := os.Stat(trace); err == nil {
		t.Fatal("ssh was started with a refused option")
	}
}

// A refresh reads with the state's connection: when the control socket's directory it names
// is gone (a reboot emptied /tmp), the probe connects without the shared connection instead
// of failing (OpenSSH cannot bind a socket there).
func TestMissingControlDirectoryDropsTheSharedConnection(t *testing.T) {
	dir := t.TempDir()
	base := []string{"-F", "none", "-o", "BatchMode=yes"}
	shared := func(controlDir string) []string {
		return append(append([]string{}, base...), "-o", "ControlMaster=auto", "-o", "ControlPath="+filepath.Join(controlDir, "mux-e3301cec"), "-o", "ControlPersist=60")
	}
	if got := withoutMissingControlPath(shared(dir)); !reflect.DeepEqual(got, shared(dir)) {
		t.Fatalf("an existing control directory is used: %q", got)
	}
	if got := withoutMissingControlPath(shared(filepath.Join(dir, "gone"))); !reflect.DeepEqual(got, base) {
		t.Fatalf("a missing control directory: %q", got)
	}
	if got := withoutMissingControlPath(base); !reflect.DeepEqual(got, base) {
		t.Fatalf("no shared connection: %q", got)
	}
}
