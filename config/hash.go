package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// NotHashed are the keys that say where and how a run executes, not what it computes: a run may be resumed
// with other values for them. Everything else is part of the config hash.
var NotHashed = []string{"name", "out", "device", "threads", "performance.sync_every",
	"performance.overlap_grad_reduce", "performance.grad_bucket_mb", "checkpoint.every", "tracking"}

// Flat lists every key of the resolved experiment with its value in YAML flow form ("channel.snrs_db" →
// "[0, 10]").
func (e *Experiment) Flat() map[string]string {
	b, err := yaml.Marshal(e)
	if err != nil {
		panic(err) // plain structs always marshal
	}
	var tree map[string]any
	if err := yaml.Unmarshal(b, &tree); err != nil {
		panic(err)
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok { // an empty map adds no key
			for k, x := range m {
				walk(prefix+k+".", x)
			}
			return
		}
		out[strings.TrimSuffix(prefix, ".")] = flow(v)
	}
	walk("", tree)
	return out
}

func flow(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = flow(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}

// Hash identifies what a run computes: SHA-256 over the sorted key=value lines of every key but NotHashed.
func (e *Experiment) Hash() string {
	flat := e.Flat()
	keys := make([]string, 0, len(flat))
	for k := range flat {
		if !slices.Contains(NotHashed, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, flat[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Diff lists the hashed keys whose values differ, as "key: old → new".
func Diff(old, cur *Experiment) []string {
	a, b := old.Flat(), cur.Flat()
	var out []string
	for k := range union(a, b) {
		if !slices.Contains(NotHashed, k) && a[k] != b[k] {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, orNone(a[k]), orNone(b[k])))
		}
	}
	sort.Strings(out)
	return out
}

func union(a, b map[string]string) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

func orNone(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}
