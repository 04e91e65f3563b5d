package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 27
go_sql_open_connections{db_name="termin"} 5
termin_outbox_pending{kind="mail"} 2
termin_outbox_pending{kind="posting_file"} 1
termin_http_request_duration_seconds_count{method="GET",route="/{a,b}",status="200"} 10
process_resident_memory_bytes 3.6700160e+07
broken{x="1" 3
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"go_goroutines": 27, "go_sql_open_connections": 5, "termin_outbox_pending": 3,
		"termin_http_request_duration_seconds_count": 10, "process_resident_memory_bytes": 36700160,
	} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
	if _, ok := m["broken"]; ok {
		t.Error("a line without a closing brace was read")
	}
}

func TestHexPort(t *testing.T) {
	for addr, want := range map[string]int{"0100007F:1F90": 8080, "00000000000000000000000001000000:0016": 22, "junk": 0} {
		if got := hexPort(addr); got != want {
			t.Errorf("hexPort(%q) = %d, want %d", addr, got, want)
		}
	}
}

// TestFigureGrowth: growth beyond the tolerance fails, a fall never does.
func TestFigureGrowth(t *testing.T) {
	at := func(sec int, goroutines float64) sample {
		return sample{At: time.Duration(sec) * time.Second, Goroutines: goroutines, RSS: 100, HeapInuse: 50}
	}
	tests := []struct {
		name       string
		start, end float64
		grew       bool
	}{
		{"steady", 30, 30, false},
		{"within 10%", 30, 33, false},
		{"at least 3 for few", 20, 23, false},
		{"beyond", 30, 34, true},
		{"fell", 30, 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &soakReport{Options: soakOptions{duration: 100 * time.Second, warmup: 10 * time.Second, window: 10 * time.Second}}
			for s := 10; s <= 20; s += 5 {
				r.Samples = append(r.Samples, at(s, tt.start))
			}
			for s := 90; s <= 100; s += 5 {
				r.Samples = append(r.Samples, at(s, tt.end))
			}
			for _, f := range r.figures() {
				if f.name == "goroutines" && f.grew != tt.grew {
					t.Errorf("goroutines %v → %v: grew %v, want %v", tt.start, tt.end, f.grew, tt.grew)
				}
				if f.name != "goroutines" && f.grew {
					t.Errorf("%s grew without changing", f.name)
				}
			}
		})
	}
}

func TestStatsOfClassifiesAnswers(t *testing.T) {
	recs := []reqRecord{
		{status: 200, accepted: true},
		{status: 409, code: "queue_empty", accepted: true},
		{status: 409, code: "ticket_state"},
		{status: 503, code: "unavailable"},
		{status: 0},
		{status: 302},
	}
	k := statsOf("x", recs)
	if k.N != 6 || k.Expected != 1 || k.Unexpected4xx != 1 || k.Server5xx != 1 || k.NoAnswer != 1 || k.OtherUnexpected != 1 || k.errors() != 4 {
		t.Errorf("%+v", k)
	}
	if k.Codes["409 ticket_state"] != 1 || k.Codes["409 queue_empty"] != 0 {
		t.Errorf("codes %v", k.Codes)
	}
}

func TestWriteSoakCity(t *testing.T) {
	dir := t.TempDir()
	if err := writeSoakCity("../../server", dir); err != nil {
		t.Fatal(err)
	}
	city, err := os.ReadFile(filepath.Join(dir, "city.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{`"buergeramt-koblenz"`, `"stadtbad"`, `"soak-amt"`, `"soak-bad"`} {
		if !strings.Contains(string(city), id) {
			t.Errorf("city.json lacks %s", id)
		}
	}
	if _, _, err := booking.ParseCity(bytes.NewReader(city)); err != nil {
		t.Errorf("the soak city does not load: %v", err)
	}
	acc, err := os.ReadFile(filepath.Join(dir, "accounting.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := payment.ParseAccounting(bytes.NewReader(acc)); err != nil {
		t.Errorf("the soak accounting does not load: %v", err)
	}
	for _, id := range []string{`"erwachsene"`, `"soak-eintritt"`} {
		if !strings.Contains(string(acc), id) {
			t.Errorf("accounting.json lacks %s", id)
		}
	}
}
