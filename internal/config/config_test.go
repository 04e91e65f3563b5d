package config

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type settings struct {
	addr   string
	n      int
	rate   float64
	on     bool
	ttl    time.Duration
	list   []string
	level  slog.Level
	zone   *time.Location
	custom string
}

func newTestSet(st *settings) *Set {
	s := NewSet("test")
	s.SetOutput(&bytes.Buffer{})
	s.String(&st.addr, "http", "HTTP_ADDR", "127.0.0.1:8080", "listen address")
	s.Int(&st.n, "warm-days", "WARM_DAYS", 14, "days")
	s.Float(&st.rate, "rate-limit", "RATE_LIMIT", 1, "rate")
	s.Bool(&st.on, "verbose", "VERBOSE", false, "verbose")
	s.Duration(&st.ttl, "hold-ttl", "HOLD_TTL", 10*time.Minute, "ttl")
	s.List(&st.list, "redis", "REDIS_ADDR", []string{"127.0.0.1:6379"}, "redis")
	s.LogLevel(&st.level, "log-level", "LOG_LEVEL", slog.LevelInfo, "level")
	s.Zone(&st.zone, "timezone", "TIMEZONE", "Europe/Berlin", "zone")
	s.Func("mode", "MODE", "counter", "mode", func(v string) error {
		if v != "counter" && v != "gate" {
			return errors.New("want counter or gate")
		}
		st.custom = v
		return nil
	})
	return s
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	var st settings
	if err := newTestSet(&st).Parse(nil, env(nil)); err != nil {
		t.Fatal(err)
	}
	if st.addr != "127.0.0.1:8080" || st.n != 14 || st.rate != 1 || st.on || st.ttl != 10*time.Minute ||
		len(st.list) != 1 || st.level != slog.LevelInfo || st.zone.String() != "Europe/Berlin" || st.custom != "counter" {
		t.Fatalf("defaults: %+v", st)
	}
}

func TestPrecedenceAndValues(t *testing.T) {
	var st settings
	s := newTestSet(&st)
	err := s.Parse([]string{"-hold-ttl", "90s", "-verbose", "extra"}, env(map[string]string{
		"HOLD_TTL": "5m", "WARM_DAYS": "3", "RATE_LIMIT": "0.5", "REDIS_ADDR": " a:1, ,b:2 ",
		"LOG_LEVEL": "WARN", "HTTP_ADDR": "", "MODE": "gate",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if st.ttl != 90*time.Second {
		t.Errorf("flag must win over the environment: %v", st.ttl)
	}
	if st.n != 3 || st.rate != 0.5 || !st.on || st.level != slog.LevelWarn || st.custom != "gate" {
		t.Errorf("values: %+v", st)
	}
	if strings.Join(st.list, "|") != "a:1|b:2" {
		t.Errorf("list: %q", st.list)
	}
	if st.addr != "127.0.0.1:8080" {
		t.Errorf("an empty variable counts as unset: %q", st.addr)
	}
	if strings.Join(s.Args(), " ") != "extra" {
		t.Errorf("args: %q", s.Args())
	}
}

func TestMalformedValuesNameTheirSource(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"duration without unit", nil, map[string]string{"HOLD_TTL": "10"}, `HOLD_TTL="10": invalid duration (a unit is required`},
		{"duration garbage", nil, map[string]string{"HOLD_TTL": "soon"}, `HOLD_TTL="soon": invalid duration`},
		{"duration flag", []string{"-hold-ttl=10"}, nil, `-hold-ttl="10"`},
		{"int", nil, map[string]string{"WARM_DAYS": "14d"}, `WARM_DAYS="14d": not a whole number`},
		{"float", nil, map[string]string{"RATE_LIMIT": "fast"}, `RATE_LIMIT="fast": not a number`},
		{"bool", nil, map[string]string{"VERBOSE": "maybe"}, `VERBOSE="maybe": not a yes/no value`},
		{"log level", nil, map[string]string{"LOG_LEVEL": "loud"}, `LOG_LEVEL="loud": unknown log level`},
		{"zone", nil, map[string]string{"TIMEZONE": "Europe/Atlantis"}, `TIMEZONE="Europe/Atlantis": unknown time zone`},
		{"custom", nil, map[string]string{"MODE": "door"}, `MODE="door": want counter or gate`},
		{"unknown flag", []string{"-nope"}, nil, "flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st settings
			err := newTestSet(&st).Parse(tt.args, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestZeroDurationNeedsNoUnit(t *testing.T) {
	var st settings
	if err := newTestSet(&st).Parse(nil, env(map[string]string{"HOLD_TTL": "0"})); err != nil || st.ttl != 0 {
		t.Fatalf("ttl %v, err %v", st.ttl, err)
	}
}

func TestHelp(t *testing.T) {
	var st settings
	s := newTestSet(&st)
	var out bytes.Buffer
	s.SetOutput(&out)
	if err := s.Parse([]string{"-help"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(out.String(), "-hold-ttl, HOLD_TTL (default \"10m0s\")") {
		t.Fatalf("usage:\n%s", out.String())
	}
}

func TestFileLayer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kiosk.json")
	if err := os.WriteFile(path, []byte(`{"warm-days": 7, "verbose": true, "redis": ["x:1","y:2"], "hold-ttl": "2m", "rate-limit": 1000000}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var st settings
	s := newTestSet(&st)
	s.File("config", "TEST_CONFIG", "config file")
	if err := s.Parse([]string{"-config", path}, env(map[string]string{"HOLD_TTL": "3m"})); err != nil {
		t.Fatal(err)
	}
	if st.n != 7 || !st.on || strings.Join(st.list, ",") != "x:1,y:2" || st.rate != 1e6 {
		t.Errorf("file values: %+v", st)
	}
	if st.ttl != 3*time.Minute {
		t.Errorf("the environment must win over the file: %v", st.ttl)
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"warm-days": "x"}`), 0o600)
	err := newFileSet(&st).Parse(nil, env(map[string]string{"TEST_CONFIG": bad}))
	if err == nil || !strings.Contains(err.Error(), "warm-days in "+bad) {
		t.Errorf("bad value in file: %v", err)
	}
	os.WriteFile(bad, []byte(`{"colour": "red"}`), 0o600)
	if err := newFileSet(&st).Parse(nil, env(map[string]string{"TEST_CONFIG": bad})); err == nil || !strings.Contains(err.Error(), `unknown key "colour"`) {
		t.Errorf("unknown key: %v", err)
	}
	if err := newFileSet(&st).Parse(nil, env(map[string]string{"TEST_CONFIG": filepath.Join(dir, "missing.json")})); err == nil {
		t.Error("a named file that is missing must be an error")
	}
}

func newFileSet(st *settings) *Set {
	s := newTestSet(st)
	s.File("config", "TEST_CONFIG", "config file")
	return s
}

func TestRegisteringTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	var a, b string
	s := NewSet("x")
	s.String(&a, "a", "A", "", "")
	s.String(&b, "a", "B", "", "")
}

func FuzzParseDuration(f *testing.F) {
	for _, seed := range []string{"10", "10m", "0", "1h30m", "-5s", "1e9", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := ParseDuration(v)
		if err == nil && strings.TrimSpace(v) != "0" {
			if _, perr := time.ParseDuration(strings.TrimSpace(v)); perr != nil {
				t.Fatalf("accepted %q as %v although time.ParseDuration refuses it", v, d)
			}
		}
	})
}

// TestValuesFromFiles: NAME_FILE names a file that holds the value of
// NAME (a mounted secret); its trailing line break is dropped, setting
// both is refused, a missing file names its variable, and malformed
// contents name the variable they came from.
func TestValuesFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	addr, days, bad := write("addr", "0.0.0.0:9000\n"), write("days", "7\r\n"), write("bad", "seven\n")
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(settings) bool
	}{
		{"file", map[string]string{"HTTP_ADDR_FILE": addr, "WARM_DAYS_FILE": days}, "",
			func(st settings) bool { return st.addr == "0.0.0.0:9000" && st.n == 7 }},
		{"both set", map[string]string{"HTTP_ADDR": "x:1", "HTTP_ADDR_FILE": addr}, "HTTP_ADDR and HTTP_ADDR_FILE are both set", nil},
		{"missing file", map[string]string{"HTTP_ADDR_FILE": filepath.Join(dir, "none")}, "HTTP_ADDR_FILE", nil},
		{"malformed contents", map[string]string{"WARM_DAYS_FILE": bad}, `WARM_DAYS_FILE="seven"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st settings
			err := newTestSet(&st).Parse(nil, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want an error with %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil || !tt.check(st) {
				t.Fatalf("err %v, settings %+v", err, st)
			}
		})
	}
}
