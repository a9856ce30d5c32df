package main

import (
	"fmt"
	"regexp"
	"strings"
)

// A probe's ssh options come from its inputs and, on a refresh, from the state: whoever can
// write the state could otherwise hand ssh `-o ProxyCommand=...` (or LocalCommand,
// KnownHostsCommand, an Include, a PKCS11Provider) and run code on the operator's machine at
// the next refresh. So the probes accept only the forms ssh/openssh-options.ts writes
// (openSshOptions, probeSshOptions): `-F none`, and `-o Key=Value` for the keys below, with
// the value each is written with. Everything else is refused, naming the option.

// optionValue: whether a value is one ssh/openssh-options.ts writes for that key.
type optionValue func(string) bool

func exactly(want string) optionValue { return func(v string) bool { return v == want } }

var digits = regexp.MustCompile(`^[0-9]{1,5}$`)

func number(v string) bool { return digits.MatchString(v) }

// pathValue: a file or socket path (the stack's known_hosts, agent socket, public key, control
// socket). Any path is inert for these keys; control characters are refused, so a value
// never reaches OpenSSH's line parser as more than one line.
func pathValue(v string) bool {
	if v == "" {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// allowedOptions: the `-o` keys ssh/openssh-options.ts writes, by lower-case name (OpenSSH reads
// keys case-insensitively), and what each may be set to.
var allowedOptions = map[string]optionValue{
	"userknownhostsfile":    pathValue,
	"hostkeyalias":          exactly("l9-deploy-host"),
	"globalknownhostsfile":  exactly("/dev/null"),
	"stricthostkeychecking": exactly("yes"),
	"knownhostscommand":     exactly("none"),
	"verifyhostkeydns":      exactly("no"),
	"identityagent":         pathValue,
	"identityfile":          pathValue,
	"identitiesonly":        exactly("yes"),
	"batchmode":             exactly("yes"),
	"connecttimeout":        number,
	"serveraliveinterval":   number,
	"serveralivecountmax":   number,
	"loglevel":              exactly("ERROR"),
	"controlmaster":         exactly("auto"),
	"controlpath":           pathValue,
	"controlpersist":        number,
}

// optionSetting: `Key=Value` exactly (OpenSSH also reads `Key Value` and ` Key=Value`; the
// probes' options are never written so).
var optionSetting = regexp.MustCompile(`^([A-Za-z]+)=(.*)$`)

// checkSSHOptions returns an error naming the first option ssh/openssh-options.ts does not write.
func checkSSHOptions(opts []string) error {
	for i := 0; i < len(opts); i++ {
		switch opts[i] {
		case "-F":
			if i+1 >= len(opts) || opts[i+1] != "none" {
				next := "(nothing)"
				if i+1 < len(opts) {
					next = fmt.Sprintf("%q", opts[i+1])
				}
				return fmt.Errorf("the probe's ssh options carry -F %s: only -F none is accepted (no ssh config file is read)", next)
			}
			i++
		case "-o":
			if i+1 >= len(opts) {
				return fmt.Errorf("the probe's ssh options end with -o and no setting")
			}
			i++
			m := optionSetting.FindStringSubmatch(opts[i])
			if m == nil {
				return fmt.Errorf("the probe's ssh options carry -o %q: only Key=Value settings are accepted", opts[i])
			}
			valid, ok := allowedOptions[strings.ToLower(m[1])]
			if !ok {
				return fmt.Errorf("the probe's ssh options carry -o %q: %s is not an option l9-deploy writes; refusing to run ssh with it", opts[i], m[1])
			}
			if !valid(m[2]) {
				return fmt.Errorf("the probe's ssh options carry -o %q: l9-deploy never writes %s with that value; refusing to run ssh with it", opts[i], m[1])
			}
		default:
			return fmt.Errorf("the probe's ssh options carry %q: only -o Key=Value and -F none are accepted; refusing to run ssh with it", opts[i])
		}
	}
	return nil
}

// checkDestination: the user and host go after `--` on ssh's command line, and must still
// not read as options or carry more than a name.
func checkDestination(user, host string) error {
	for _, f := range []struct{ what, v string }{{"user", user}, {"host", host}} {
		if strings.HasPrefix(f.v, "-") || strings.ContainsAny(f.v, " \t\r\n@") || !pathValue(f.v) {
			return fmt.Errorf("the probe's connection has an invalid %s %q", f.what, f.v)
		}
	}
	return nil
}
