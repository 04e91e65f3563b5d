package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/printer"
)

func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kiosk.json")
	os.WriteFile(file, []byte(`{"server": "https://termin.koblenz.de", "mode": "gate", "printer-usb": "04b8:0202",
		"scanner-baud": 115200, "relay-on": "A0 01 01 A2", "gate-early": "20m", "scanner-aim": true}`), 0o600)
	env := map[string]string{"KIOSK_CONFIG": file, "KIOSK_MODE": "counter", "KIOSK_SCANNER_BAUD": "57600"}
	cfg, err := LoadConfig([]string{"-scanner-baud", "9600", "-state-dir", dir}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server != "https://termin.koblenz.de" || cfg.Mode != "counter" || cfg.Scanner.Baud != 9600 || cfg.StateDir != dir {
		t.Errorf("precedence: %+v", cfg)
	}
	if cfg.Printer.USB == nil || cfg.Printer.USB.String() != "04B8:0202" || !cfg.ScannerAIM || cfg.GateEarly != 20*time.Minute {
		t.Errorf("file values: %+v", cfg)
	}
	if !bytes.Equal(cfg.RelayOn, []byte{0xA0, 0x01, 0x01, 0xA2}) {
		t.Errorf("relay-on % X", cfg.RelayOn)
	}
}

func TestLoadConfigRejects(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	for _, args := range [][]string{
		{"-server", "http://termin.koblenz.de"}, // plain http off loopback
		{"-server", "ftp://x"},
		{"-mode", "turnstile"},
		{"-printer-usb", "printer"},
		{"-relay-on", "zz"},
		{"-printer-width", "100"},
		{"-printer-profile", "no-such-printer"},
		{"stray"},
	} {
		if _, err := LoadConfig(args, none); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if _, err := LoadConfig([]string{"-server", "http://localhost:8080/", "-state-dir", t.TempDir()}, none); err != nil {
		t.Errorf("http on localhost: %v", err)
	}
	file := filepath.Join(t.TempDir(), "k.json")
	os.WriteFile(file, []byte(`{"no-such-flag": 1}`), 0o600)
	if _, err := LoadConfig([]string{"-config=" + file}, none); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestLoadConfigNamesTheBadVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env: map[string]string{"KIOSK_HEARTBEAT": "30"}, want: "KIOSK_HEARTBEAT"},
		{env: map[string]string{"KIOSK_LOG_LEVEL": "loud"}, want: "KIOSK_LOG_LEVEL"},
		{env: map[string]string{"KIOSK_PRINTER_BAUD": "fast"}, want: "KIOSK_PRINTER_BAUD"},
		{env: map[string]string{"KIOSK_SCANNER_AIM": "maybe"}, want: "KIOSK_SCANNER_AIM"},
		{env: map[string]string{"KIOSK_RELAY_ON": "zz"}, want: "KIOSK_RELAY_ON"},
		{args: []string{"-result-screen", "20"}, want: "-result-screen"},
	}
	for _, tt := range tests {
		lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
		_, err := LoadConfig(append([]string{"-state-dir", t.TempDir()}, tt.args...), lookup)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: error %v, want one naming %s", tt.env, tt.args, err, tt.want)
		}
	}
	// An empty variable counts as unset.
	cfg, err := LoadConfig([]string{"-state-dir", t.TempDir()}, func(k string) (string, bool) { return "", true })
	if err != nil || cfg.Heartbeat != Defaults().Heartbeat {
		t.Errorf("empty variables: %v %v", cfg.Heartbeat, err)
	}
}

func TestPrinterProfile(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "generic"},
		{[]string{"-printer-profile", "generic"}, "generic"},
		{[]string{"-printer-usb", "ffff:0001"}, "generic"},
	}
	for _, p := range printer.Profiles() {
		tests = append(tests, struct {
			args []string
			want string
		}{[]string{"-printer-profile", strings.ToUpper(p.Name)}, p.Name})
		for _, u := range p.USB {
			if u.PID != 0 {
				tests = append(tests, struct {
					args []string
					want string
				}{[]string{"-printer-usb", fmt.Sprintf("%04X:%04X", u.VID, u.PID)}, p.Name})
			}
		}
	}
	for _, tt := range tests {
		cfg, err := LoadConfig(append([]string{"-state-dir", t.TempDir()}, tt.args...), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if got := cfg.printerProfile().Name; got != tt.want {
			t.Errorf("%q: profile %s, want %s", tt.args, got, tt.want)
		}
	}
}

func TestStoreSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "redemptions.jsonl")
	s, err := OpenStore(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	s.Put(ScanRecord{Nonce: "n1", Code: "AAAA1111", QR: "q1", ScannedAt: at, State: ScanPending, Offline: true, Opened: true})
	s.Put(ScanRecord{Nonce: "n2", Code: "BBBB2222", QR: "q2", ScannedAt: at.Add(time.Minute), State: ScanPending, Opened: true})
	s.Put(ScanRecord{Nonce: "n2", Code: "BBBB2222", QR: "q2", ScannedAt: at.Add(time.Minute), State: ScanAdmitted, Opened: true})
	first := at.Add(-time.Hour)
	s.Put(ScanRecord{Nonce: "n3", Code: "CCCC3333", ScannedAt: at, State: ScanRefused, Reason: "already_redeemed", FirstEntry: &first})
	s.Close()
	// A torn last line, as after a power cut.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"nonce":"n4","code":"DDDD`)
	f.Close()

	s, err = OpenStore(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p := s.Pending(10); len(p) != 1 || p[0].Nonce != "n1" || !p[0].Offline {
		t.Errorf("pending %+v", p)
	}
	for code, want := range map[string]time.Time{"AAAA1111": at, "BBBB2222": at.Add(time.Minute), "CCCC3333": first} {
		if got, ok := s.FirstEntry(code); !ok || !got.Equal(want) {
			t.Errorf("first entry of %s: %v %v", code, got, ok)
		}
	}
	if _, ok := s.FirstEntry("DDDD4444"); ok {
		t.Error("torn record applied")
	}
}

func FuzzStoreLoad(f *testing.F) {
	f.Add([]byte(`{"nonce":"n","code":"AAAA1111","scanned_at":"2026-07-01T10:00:00Z","state":"pending","opened":true}` + "\n"))
	f.Add([]byte("{}\n\n{\"nonce\":1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Store{byNonce: map[string]*ScanRecord{}, entry: map[string]time.Time{}}
		if err := s.load(bytes.NewReader(data)); err != nil {
			return
		}
		for _, r := range s.Pending(1 << 20) {
			if r.State != ScanPending || r.Nonce == "" {
				t.Fatalf("pending %+v", r)
			}
		}
	})
}

func FuzzHexBytes(f *testing.F) {
	f.Add("A0 01 01 A2")
	f.Add("a0:01")
	f.Add("xyz")
	f.Fuzz(func(t *testing.T, s string) {
		var h hexBytes
		if err := h.Set(s); err != nil {
			return
		}
		var back hexBytes
		if err := back.Set(h.String()); err != nil || !bytes.Equal(back, h) {
			t.Fatalf("round trip of %q: %q %v", s, back.String(), err)
		}
	})
}

func TestWrap(t *testing.T) {
	got := wrap("Dieser Code ist kein gültiges Ticket.", 20)
	if strings.Join(got, "|") != "Dieser Code ist kein|gültiges Ticket." {
		t.Errorf("%q", got)
	}
}
