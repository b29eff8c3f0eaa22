package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Override sets one key from outside the file.
type Override struct {
	Key, Value string
	// From names the origin in errors: "--set pretrain.epochs=2.5", "--device", "SEMCOM_SEED".
	From string
	// Literal takes Value as a plain string (flags such as --name), not as YAML.
	Literal bool
}

// ParseSets reads --set arguments ("key=value", the value in YAML syntax).
func ParseSets(sets []string) ([]Override, error) {
	var out []Override
	for _, s := range sets {
		key, val, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(key) == "" {
			return nil, fmt.Errorf("--set %q: want key=value", s)
		}
		out = append(out, Override{Key: key, Value: val, From: fmt.Sprintf("--set %s", s)})
	}
	return out, nil
}

// EnvPrefix starts the environment variables that set keys: SEMCOM_PRETRAIN_EPOCHS sets pretrain.epochs.
const EnvPrefix = "SEMCOM_"

// RuntimeEnv are SEMCOM_ variables that are not config keys (they switch process-wide behaviour; see README).
var RuntimeEnv = []string{"SEMCOM_KEEP_DENORMALS", "SEMCOM_DEFAULT_MALLOC", "SEMCOM_DIST_CHECK", "SEMCOM_MAX_JOBS"}

// environment reads every SEMCOM_ variable as an override; one that names no key is an error, so that a
// typo is not silently ignored.
func environment(types map[string]reflect.Type) ([]Override, error) {
	byVar := map[string]string{}
	for k := range types {
		byVar[EnvPrefix+strings.ToUpper(strings.ReplaceAll(k, ".", "_"))] = k
	}
	var out []Override
	var unknown []string
	for _, kv := range os.Environ() {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || slices.Contains(RuntimeEnv, name) {
			continue
		}
		key, ok := byVar[name]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		out = append(out, Override{Key: key, Value: val, From: name})
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("environment: %s names no config key (SEMCOM_<KEY> with dots as underscores, e.g. SEMCOM_PRETRAIN_EPOCHS; see 'semcom config defaults')",
			strings.Join(unknown, ", "))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	return out, nil
}

// parse turns an override's text into a value of its key's type.
func (o Override) parse(key string, types map[string]reflect.Type) (any, error) {
	if o.Literal {
		return checkType(key, types, o.Value)
	}
	var parsed any
	if err := yaml.Unmarshal([]byte(o.Value), &parsed); err != nil {
		return nil, fmt.Errorf("%s: value %q is not YAML: %v", key, o.Value, err)
	}
	if parsed == nil {
		parsed = ""
	}
	// The environment's list form without brackets ("0,5") is accepted beside YAML's "[0,5]".
	if s, ok := parsed.(string); ok && typeOf(key, types).Kind() == reflect.Slice && s != "" {
		var items []any
		for _, f := range strings.Split(s, ",") {
			var item any
			if err := yaml.Unmarshal([]byte(strings.TrimSpace(f)), &item); err != nil {
				return nil, fmt.Errorf("%s: list item %q is not YAML: %v", key, f, err)
			}
			items = append(items, item)
		}
		parsed = items
	}
	return checkType(key, types, parsed)
}

// Keys lists every dotted key of the experiment, sorted.
func Keys() []string {
	var out []string
	for k := range keyTypes() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// keyTypes maps every dotted key to the Go type of its field.
func keyTypes() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			key := prefix + f.Tag.Get("mapstructure")
			if f.Type.Kind() == reflect.Struct {
				walk(key+".", f.Type)
				continue
			}
			out[key] = f.Type
		}
	}
	walk("", reflect.TypeFor[Experiment]())
	return out
}

// typeOf is a key's type; keys inside a map take the map's element type.
func typeOf(key string, types map[string]reflect.Type) reflect.Type {
	if t, ok := types[key]; ok {
		return t
	}
	for k, t := range types {
		if t.Kind() == reflect.Map && strings.HasPrefix(key, k+".") {
			return t.Elem()
		}
	}
	return reflect.TypeFor[any]()
}

// checkType returns v as a value of key's type or says what was expected. No coercion loses information:
// 2.5 is no integer, true no number, -1 no seed, .nan and .inf no value at all.
func checkType(key string, types map[string]reflect.Type, v any) (any, error) {
	out, want := convert(typeOf(key, types), v)
	if want != "" {
		return nil, fmt.Errorf("%s = %s: want %s", key, show(v), want)
	}
	return out, nil
}

func convert(t reflect.Type, v any) (any, string) {
	switch t.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case string:
			return x, ""
		case int, int64, uint64:
			return fmt.Sprint(x), ""
		}
		return nil, "a string"
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			return b, ""
		}
		return nil, "true or false"
	case reflect.Int, reflect.Uint64:
		f, ok := number(v)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, "an integer"
		}
		if t.Kind() == reflect.Uint64 {
			if f < 0 {
				return nil, "an integer ≥ 0"
			}
			return uint64(f), ""
		}
		return int(f), ""
	case reflect.Float64:
		f, ok := number(v)
		if !ok {
			return nil, "a number"
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, "a finite number"
		}
		return f, ""
	case reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			return nil, "a list, e.g. [0, 10]"
		}
		out := make([]any, len(items))
		for i, it := range items {
			x, want := convert(t.Elem(), it)
			if want != "" {
				return nil, "a list of which each item is " + want
			}
			out[i] = x
		}
		return out, ""
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "a mapping, e.g. {depth: -3}"
		}
		out := map[string]any{}
		for k, it := range m {
			x, want := convert(t.Elem(), it)
			if want != "" {
				return nil, fmt.Sprintf("a mapping whose values are each %s (%s is not)", want, k)
			}
			out[k] = x
		}
		return out, ""
	}
	return v, ""
}

// number reads an int or float (not a bool, not a string).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func show(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case float64:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

// sources remembers where each key's value came from.
type sources map[string]string

// of names the origin of a key's value (or of any key below it).
func (s sources) of(key string) string {
	if f, ok := s[key]; ok {
		return f
	}
	var below []string
	for k, f := range s {
		if strings.HasPrefix(k, key+".") {
			below = append(below, f)
		}
	}
	sort.Strings(below)
	if len(below) > 0 {
		return below[0]
	}
	return "default"
}

// blame prefixes each validation error with the origin of its key's value.
func (s sources) blame(err error, path string) error {
	var errs []error
	for _, e := range unjoin(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			where := s.of(fe.Key)
			if where == "default" && path != "" {
				where = "config " + path + " (default value)"
			} else if where == "default" {
				where = "config (default value)"
			}
			errs = append(errs, fmt.Errorf("%s: %w", where, e))
			continue
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// FieldError is one invalid value, named by its key.
type FieldError struct {
	Key   string
	Value any
	Want  string
}

func (f *FieldError) Error() string { return fmt.Sprintf("%s = %v: want %s", f.Key, f.Value, f.Want) }
