// Package config is the one strict configuration loader of termin's
// binaries. Every option is a command-line flag and an environment
// variable at once; a value that does not parse stops start-up with an
// error that names where it came from, instead of silently falling back to
// the default.
//
// Precedence, highest first: flag, environment variable (or NAME_FILE,
// the path of a file holding the value, for secrets mounted as files),
// configuration file (when the set has one), default. An environment
// variable set to the empty string counts as unset.
//
// Importing this package embeds the time zone database, so Europe/Berlin
// loads on machines without tzdata (minimal containers, Windows).
package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin must load everywhere
)

// Set is a named set of options.
type Set struct {
	name    string
	flags   *flag.FlagSet
	options []*option
	byFlag  map[string]*option
	byEnv   map[string]*option
	file    *option
	output  io.Writer
}

// option is one setting: its names, its default and how to apply a value.
type option struct {
	flag, env, def, usage string
	apply                 func(string) error
	fromFlag              bool
	flagValue             string
}

// NewSet returns an empty set; name appears in usage text.
func NewSet(name string) *Set {
	s := &Set{
		name:   name,
		flags:  flag.NewFlagSet(name, flag.ContinueOnError),
		byFlag: map[string]*option{},
		byEnv:  map[string]*option{},
		output: os.Stderr,
	}
	s.flags.SetOutput(io.Discard)
	return s
}

// SetOutput sets where the usage text goes (standard error by default).
func (s *Set) SetOutput(w io.Writer) { s.output = w }

// flagValue records a flag given on the command line; it is applied in
// Parse, in precedence order, not while the flags are read.
type flagValue struct{ o *option }

func (v flagValue) String() string { return "" }
func (v flagValue) Set(val string) error {
	v.o.fromFlag, v.o.flagValue = true, val
	return nil
}

// boolFlagValue lets a boolean flag stand alone ("-verbose").
type boolFlagValue struct{ flagValue }

func (boolFlagValue) IsBoolFlag() bool { return true }

// Func registers an option whose value parse applies; parse is also
// called with def when nothing else is set.
func (s *Set) Func(flagName, env, def, usage string, parse func(string) error) {
	s.add(&option{flag: flagName, env: env, def: def, usage: usage, apply: parse}, false)
}

func (s *Set) add(o *option, isBool bool) {
	if o.flag == "" || o.env == "" {
		panic(fmt.Sprintf("config: option %q/%q needs a flag and an environment variable", o.flag, o.env))
	}
	if s.byFlag[o.flag] != nil || s.byEnv[o.env] != nil {
		panic(fmt.Sprintf("config: option -%s / %s registered twice", o.flag, o.env))
	}
	s.byFlag[o.flag], s.byEnv[o.env] = o, o
	s.options = append(s.options, o)
	var v flag.Value = flagValue{o}
	if isBool {
		v = boolFlagValue{flagValue{o}}
	}
	s.flags.Var(v, o.flag, o.usage)
}

// String registers a text option.
func (s *Set) String(p *string, flagName, env, def, usage string) {
	s.Func(flagName, env, def, usage, func(v string) error { *p = v; return nil })
}

// Int registers an integer option.
func (s *Set) Int(p *int, flagName, env string, def int, usage string) {
	s.Func(flagName, env, strconv.Itoa(def), usage, func(v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return errors.New("not a whole number")
		}
		*p = n
		return nil
	})
}

// Float registers a decimal option.
func (s *Set) Float(p *float64, flagName, env string, def float64, usage string) {
	s.Func(flagName, env, strconv.FormatFloat(def, 'g', -1, 64), usage, func(v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return errors.New("not a number")
		}
		*p = f
		return nil
	})
}

// Bool registers a yes/no option: 1, 0, true, false, yes, no, on, off.
func (s *Set) Bool(p *bool, flagName, env string, def bool, usage string) {
	s.add(&option{flag: flagName, env: env, def: strconv.FormatBool(def), usage: usage, apply: func(v string) error {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "true", "yes", "on":
			*p = true
		case "0", "false", "no", "off":
			*p = false
		default:
			return errors.New("not a yes/no value (true, false, 1, 0)")
		}
		return nil
	}}, true)
}

// Duration registers a duration option. A unit is required ("10" is an
// error, "10m" is ten minutes) except for a plain 0.
func (s *Set) Duration(p *time.Duration, flagName, env string, def time.Duration, usage string) {
	s.Func(flagName, env, def.String(), usage, func(v string) error {
		d, err := ParseDuration(v)
		if err != nil {
			return err
		}
		*p = d
		return nil
	})
}

// ParseDuration is time.ParseDuration with a clearer message for the
// common mistake of a number without a unit.
func ParseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	d, err := time.ParseDuration(v)
	if err == nil {
		return d, nil
	}
	if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
		return 0, errors.New("invalid duration (a unit is required, e.g. 10m or 30s)")
	}
	return 0, errors.New("invalid duration (e.g. 10m, 30s, 1h30m)")
}

// List registers a comma-separated list; spaces around items are trimmed
// and empty items dropped.
func (s *Set) List(p *[]string, flagName, env string, def []string, usage string) {
	s.Func(flagName, env, strings.Join(def, ","), usage, func(v string) error {
		*p = SplitList(v)
		return nil
	})
}

// SplitList splits a comma-separated list, dropping empty items.
func SplitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// LogLevel registers a log level: debug, info, warn or error.
func (s *Set) LogLevel(p *slog.Level, flagName, env string, def slog.Level, usage string) {
	s.Func(flagName, env, strings.ToLower(def.String()), usage, func(v string) error {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "debug":
			*p = slog.LevelDebug
		case "info":
			*p = slog.LevelInfo
		case "warn", "warning":
			*p = slog.LevelWarn
		case "error":
			*p = slog.LevelError
		default:
			return errors.New("unknown log level (debug, info, warn or error)")
		}
		return nil
	})
}

// Zone registers an IANA time zone, loaded once here.
func (s *Set) Zone(p **time.Location, flagName, env, def, usage string) {
	s.Func(flagName, env, def, usage, func(v string) error {
		loc, err := time.LoadLocation(strings.TrimSpace(v))
		if err != nil || strings.TrimSpace(v) == "" {
			return errors.New("unknown time zone (e.g. Europe/Berlin)")
		}
		*p = loc
		return nil
	})
}

// File registers the option that names a JSON configuration file. Its
// keys are flag names, its values strings, numbers or booleans; it is read
// in Parse as the layer between the environment and the defaults. A file
// that is named but cannot be read or holds an unknown key is an error.
func (s *Set) File(flagName, env, usage string) {
	o := &option{flag: flagName, env: env, usage: usage, apply: func(string) error { return nil }}
	s.add(o, false)
	s.file = o
}

// Args returns the positional arguments left after the flags.
func (s *Set) Args() []string { return s.flags.Args() }

// Usage writes every option with its flag, variable and default.
func (s *Set) Usage(w io.Writer) {
	fmt.Fprintf(w, "Usage of %s (every flag can also be set by its environment variable):\n", s.name)
	opts := append([]*option(nil), s.options...)
	sort.Slice(opts, func(i, j int) bool { return opts[i].flag < opts[j].flag })
	for _, o := range opts {
		def := ""
		if o.def != "" {
			def = fmt.Sprintf(" (default %q)", o.def)
		}
		fmt.Fprintf(w, "  -%s, %s%s\n    \t%s\n", o.flag, o.env, def, o.usage)
	}
}

// Parse reads the flags in args and the environment through lookup
// (os.LookupEnv, or a map in tests), and applies every option's value. It
// returns flag.ErrHelp after printing the usage for -h or -help.
func (s *Set) Parse(args []string, lookup func(string) (string, bool)) error {
	if err := s.flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			s.Usage(s.output)
			return err
		}
		return fmt.Errorf("%s: %w", s.name, err)
	}
	fileValues, err := s.readFile(lookup)
	if err != nil {
		return err
	}
	for _, o := range s.options {
		if o == s.file {
			continue
		}
		source, value := "", o.def
		switch {
		case o.fromFlag:
			source, value = "-"+o.flag, o.flagValue
		case nonEmpty(lookup, o.env):
			if s.secretFile(o) != "" && nonEmpty(lookup, s.secretFile(o)) {
				return fmt.Errorf("%s and %s are both set: set one of them", o.env, s.secretFile(o))
			}
			value, _ = lookup(o.env)
			source = o.env
		case s.secretFile(o) != "" && nonEmpty(lookup, s.secretFile(o)):
			source = s.secretFile(o)
			name, _ := lookup(source)
			b, err := os.ReadFile(name)
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			value = strings.TrimRight(string(b), "\r\n")
		default:
			if v, ok := fileValues[o.flag]; ok {
				source, value = fmt.Sprintf("%s in %s", o.flag, s.fileName(lookup)), v
			}
		}
		if err := o.apply(value); err != nil {
			if source == "" {
				source = "default of -" + o.flag
			}
			return fmt.Errorf("%s=%q: %v", source, value, err)
		}
	}
	return nil
}

// secretFile is the variable that names a file holding o's value
// (HTTP_ADDR_FILE for HTTP_ADDR), so secrets can be mounted as files
// (Kubernetes secrets, systemd credentials) instead of sitting in the
// environment. Options whose variable with _FILE is an option of its own
// (SMTP_PASSWORD_FILE) have none.
func (s *Set) secretFile(o *option) string {
	if o == s.file || strings.HasSuffix(o.env, "_FILE") || s.byEnv[o.env+"_FILE"] != nil {
		return ""
	}
	return o.env + "_FILE"
}

func nonEmpty(lookup func(string) (string, bool), env string) bool {
	v, ok := lookup(env)
	return ok && v != ""
}

func (s *Set) fileName(lookup func(string) (string, bool)) string {
	if s.file == nil {
		return ""
	}
	if s.file.fromFlag {
		return s.file.flagValue
	}
	v, _ := lookup(s.file.env)
	return v
}

// readFile reads the configuration file named by the file option, if the
// set has one and it is given.
func (s *Set) readFile(lookup func(string) (string, bool)) (map[string]string, error) {
	name := s.fileName(lookup)
	if name == "" {
		return nil, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", name, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("config file %s: not a JSON object: %w", name, err)
	}
	out := make(map[string]string, len(raw))
	for key, msg := range raw {
		if s.byFlag[key] == nil || s.byFlag[key] == s.file {
			return nil, fmt.Errorf("config file %s: unknown key %q", name, key)
		}
		var str string
		if err := json.Unmarshal(msg, &str); err == nil {
			out[key] = str
			continue
		}
		var scalar any
		if err := json.Unmarshal(msg, &scalar); err != nil {
			return nil, fmt.Errorf("config file %s: key %q: %w", name, key, err)
		}
		switch v := scalar.(type) {
		case float64:
			out[key] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			out[key] = strconv.FormatBool(v)
		case []any:
			items := make([]string, len(v))
			for i, item := range v {
				items[i] = fmt.Sprint(item)
			}
			out[key] = strings.Join(items, ",")
		default:
			return nil, fmt.Errorf("config file %s: key %q: want a string, number, boolean or list", name, key)
		}
	}
	return out, nil
}
