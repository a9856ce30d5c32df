package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// A FactProbe's state (properties): its inputs `connection`, `what`, `script` and `expect`,
// plus `declared` (what `expect` was at the last create or update: a refresh rewrites
// `expect` to what it found), `observed` (what the last refresh found) and `generation`
// (changes whenever drift was found; the owning command lists it in its triggers).
const (
	keyConnection = "connection"
	keyWhat       = "what"
	keyScript     = "script"
	keyExpect     = "expect"
	keyDeclared   = "declared"
	keyObserved   = "observed"
	keyGeneration = "generation"
	// Kept by the Node.js dynamic provider that served probes before this one: dropped.
	keyDynamicProvider = "__provider"
)

// The inputs whose change is a change of the probe.
var inputKeys = []resource.PropertyKey{keyWhat, keyScript, keyExpect, keyConnection}

var factKey = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// parseFacts reads `key=value` lines; other lines are ignored.
func parseFacts(text string) map[string]string {
	facts := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		i := strings.Index(line, "=")
		if i > 0 && factKey.MatchString(line[:i]) {
			facts[line[:i]] = strings.TrimSpace(line[i+1:])
		}
	}
	return facts
}

// factDrift lists the facts that differ from what is declared, as "fact: declared X, found Y".
// Nothing was read (observed nil): no drift.
func factDrift(declared, observed map[string]string) []string {
	if declared == nil || observed == nil {
		return nil
	}
	keys := make([]string, 0, len(declared))
	for k := range declared {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var drift []string
	for _, k := range keys {
		found, ok := observed[k]
		if !ok {
			found = "(missing)"
		}
		if found != declared[k] {
			drift = append(drift, fmt.Sprintf("%s: declared %q, found %q", k, declared[k], found))
		}
	}
	return drift
}

// stringMap reads an object of strings (absent, null or not an object: nil).
func stringMap(v resource.PropertyValue) map[string]string {
	if !v.IsObject() {
		return nil
	}
	m := map[string]string{}
	for k, e := range v.ObjectValue() {
		if e.IsString() {
			m[string(k)] = e.StringValue()
		}
	}
	return m
}

func stringMapValue(m map[string]string) resource.PropertyValue {
	obj := resource.PropertyMap{}
	for k, v := range m {
		obj[resource.PropertyKey(k)] = resource.NewStringProperty(v)
	}
	return resource.NewObjectProperty(obj)
}

// drifted: the last refresh found facts other than those declared.
func drifted(state resource.PropertyMap) bool {
	return len(factDrift(stringMap(state[keyDeclared]), stringMap(state[keyObserved]))) > 0
}

// diffProbe: a changed input (an unknown one counts as changed), or drift found by the last
// refresh, is a change; a probe is never replaced.
func diffProbe(olds, news resource.PropertyMap) bool {
	for _, k := range inputKeys {
		if !olds[k].DeepEquals(news[k]) {
			return true
		}
	}
	return drifted(olds)
}

func newGeneration() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func withoutKeys(m resource.PropertyMap, keys ...resource.PropertyKey) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// createProbe: the owning command has not run yet, so there is nothing to read; the first
// refresh after it reads. Returns the id and the state.
func createProbe(news resource.PropertyMap, generation string) (string, resource.PropertyMap) {
	outs := withoutKeys(news, keyDynamicProvider, keyObserved)
	outs[keyDeclared] = news[keyExpect]
	outs[keyGeneration] = resource.NewStringProperty(generation)
	return "probe-" + generation, outs
}

// updateProbe: a new generation only when the host drifted. A changed connection or a newly
// declared value is not a reason to re-apply: the owning command sees those changes itself.
func updateProbe(olds, news resource.PropertyMap, generation string) resource.PropertyMap {
	outs := withoutKeys(news, keyDynamicProvider, keyObserved)
	outs[keyDeclared] = news[keyExpect]
	if drifted(olds) {
		outs[keyGeneration] = resource.NewStringProperty(generation)
	} else {
		outs[keyGeneration] = olds[keyGeneration]
	}
	return outs
}

// readProbe: what a refresh returns, given what the script printed. The observed facts also
// become the refreshed `expect` input, so the preview that follows shows
// `expect: {fact: found => declared}` for each drifted fact.
func readProbe(state resource.PropertyMap, stdout string) (outputs, inputs resource.PropertyMap) {
	observed := parseFacts(stdout)
	declared := stringMap(state[keyDeclared])
	if declared == nil {
		declared = stringMap(state[keyExpect])
	}
	found := map[string]string{}
	for k := range declared {
		if v, ok := observed[k]; ok {
			found[k] = v
		} else {
			found[k] = "(missing)"
		}
	}
	outputs = withoutKeys(state, keyDynamicProvider)
	outputs[keyDeclared] = stringMapValue(declared)
	outputs[keyObserved] = stringMapValue(observed)
	inputs = withoutKeys(state, keyDynamicProvider, keyDeclared, keyObserved, keyGeneration)
	inputs[keyExpect] = stringMapValue(found)
	return outputs, inputs
}
