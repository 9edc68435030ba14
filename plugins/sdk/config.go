package sdk

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// Decode copies Config into the struct into points to, and refuses what
// the plugin does not understand. Each key goes to the field tagged with
// it:
//
//	var cfg struct {
//		URL     string        `config:"url"`
//		Timeout time.Duration `config:"timeout"`
//		Retries int           `config:"retries"`
//		Debug   bool          `config:"debug"`
//	}
//	cfg.Timeout = 10 * time.Second // a default: set it before Decode
//	if err := req.Decode(&cfg); err != nil {
//		return err
//	}
//
// Values are strings; Decode converts them to the field's type: numbers,
// booleans (true, false, 1, 0...), and durations in Go's syntax (10s,
// 1m30s). An empty value counts as absent, so the field keeps its default.
// A key no field is tagged with is refused, so that a misspelt key fails at
// launch instead of being ignored. Errors wrap ErrPermanent and name every
// bad key; they never repeat a value, which may be a secret.
//
// Decode only converts: checking the values (required keys, ranges,
// formats) is the plugin's work after it.
func (r ConfigureRequest) Decode(into any) error {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName:          "config",
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		DecodeHook:       convert,
		Result:           into,
	})
	if err != nil {
		// into is not a pointer to a struct: the plugin's bug, which no
		// retry fixes.
		return Permanent(fmt.Errorf("decode configuration: %w", err))
	}
	if err := dec.Decode(r.Config); err != nil {
		return Permanent(explainConfigError(err))
	}
	return nil
}

var durationType = reflect.TypeFor[time.Duration]()

// convert is the decode hook for every value. An empty string becomes nil,
// which mapstructure takes as "leave the field as it is". Durations are
// parsed here: weak typing alone would read "10" as ten nanoseconds and
// refuse "10s". (One hook rather than two composed: a composed hook after
// a nil is handed an invalid value.)
func convert(_ reflect.Type, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	switch {
	case !ok:
		return data, nil
	case s == "":
		return nil, nil
	case to != durationType:
		return data, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, errors.New("not a duration (like 10s or 1m30s)")
	}
	return d, nil
}

// explainConfigError rewrites mapstructure's errors as one line per bad
// key: `unknown key "tmeout"`, `"port": not a whole number`.
func explainConfigError(err error) error {
	var lines []string
	for _, e := range leaves(err) {
		var de *mapstructure.DecodeError
		if !errors.As(e, &de) {
			lines = append(lines, e.Error())
			continue
		}
		cause := de.Unwrap()
		if keys, ok := strings.CutPrefix(cause.Error(), "has invalid keys: "); ok {
			for _, k := range strings.Split(keys, ", ") {
				lines = append(lines, fmt.Sprintf("unknown key %q", k))
			}
			continue
		}
		lines = append(lines, fmt.Sprintf("%q: %s", de.Name(), describe(cause)))
	}
	slices.Sort(lines)
	return errors.New(strings.Join(lines, "; "))
}

// describe says what a value should have been, without repeating it.
func describe(err error) string {
	var pe *mapstructure.ParseError
	if !errors.As(err, &pe) {
		var ue *mapstructure.UnconvertibleTypeError
		if errors.As(err, &ue) {
			return "not a " + ue.Expected.Type().String()
		}
		return err.Error()
	}
	switch pe.Expected.Kind() {
	case reflect.Bool:
		return "not true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "not a whole number"
	case reflect.Float32, reflect.Float64:
		return "not a number"
	}
	return "not a " + pe.Expected.Type().String()
}

// leaves returns the per-key errors in mapstructure's error: a wrapped
// errors.Join of DecodeErrors.
func leaves(err error) []error {
	switch e := err.(type) {
	case *mapstructure.DecodeError:
		return []error{e}
	case interface{ Unwrap() []error }:
		var out []error
		for _, inner := range e.Unwrap() {
			out = append(out, leaves(inner)...)
		}
		return out
	case interface{ Unwrap() error }:
		if inner := e.Unwrap(); inner != nil {
			return leaves(inner)
		}
	}
	return []error{err}
}
