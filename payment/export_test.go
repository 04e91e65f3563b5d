package payment

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExportRoundTrip(t *testing.T) {
	day := time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC)
	in := []Posting{
		{PostingID: "B-TB0000000018", Kind: "payment", Kassenzeichen: "TB0000000018", AmountCents: 900, Currency: "EUR",
			ValueDate: day, BookingDate: day, Haushaltsstelle: "4240.1100", Produkt: "42.40.01", Sachkonto: "4321000",
			Kostenstelle: "424010", BookingText: "Eintritt Stadtbad", PaymentMethod: "paypal", Platform: "epay21",
			PlatformID: "EP-000001", PaymentReference: "TRMABC", BookingCode: "ABCD2345"},
		{PostingID: "S-TB0000000018", Kind: "storno", Reverses: "B-TB0000000018", Kassenzeichen: "TB0000000018",
			AmountCents: -900, Currency: "EUR", ValueDate: day, BookingDate: day, BookingText: "Eintritt; mit Semikolon"},
	}
	var buf bytes.Buffer
	if err := WriteExport(&buf, in); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\nZ;2;0.00;") {
		t.Fatalf("control record missing:\n%s", buf.String())
	}
	out, err := ParseExport(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].AmountCents != 900 || out[1].Reverses != "B-TB0000000018" || out[1].BookingText != "Eintritt; mit Semikolon" {
		t.Fatalf("round trip: %+v", out)
	}
}

func TestParseExportRejects(t *testing.T) {
	head := strings.Join(ExportHeader, ";") + "\n"
	row := "B;B-1;payment;;K1;9.00;EUR;2026-05-14;2026-05-14;;;;;;;;;;\n"
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"no control record", head + row},
		{"wrong count", head + row + "Z;2;9.00;;;;;;;;;;;;;;;;\n"},
		{"wrong sum", head + row + "Z;1;9.01;;;;;;;;;;;;;;;;\n"},
		{"repeated posting", head + row + row + "Z;2;18.00;;;;;;;;;;;;;;;;\n"},
		{"data after control", head + row + "Z;1;9.00;;;;;;;;;;;;;;;;\n" + row},
		{"bad amount", head + strings.Replace(row, "9.00", "9,00", 1) + "Z;1;9.00;;;;;;;;;;;;;;;;\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseExport(strings.NewReader(tt.body)); !errors.Is(err, ErrExportMalformed) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestWriteFileAtomicAndChecksum(t *testing.T) {
	dir := t.TempDir()
	if err := writeFileAtomic(dir, "a.csv", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(dir, "a.csv", []byte("two")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "a.csv"))
	entries, _ := os.ReadDir(dir)
	if string(got) != "two" || len(entries) != 1 {
		t.Fatalf("content %q, %d entries", got, len(entries))
	}
	line := string(checksumLine("a.csv", []byte("two")))
	if !strings.HasSuffix(line, "  a.csv\n") || len(line) != 64+2+5+1 {
		t.Fatalf("checksum line %q", line)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {4, 8 * time.Second}, {10, 10 * time.Second}}
	for _, tt := range tests {
		if got := backoff(time.Second, 10*time.Second, tt.failures); got != tt.want {
			t.Errorf("backoff(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

func TestParseAccounting(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"valid", `{"services":[{"service":"erwachsene","haushaltsstelle":"4240.1100","booking_text":"Eintritt"}]}`, true},
		{"unknown field", `{"services":[{"service":"a","konto":"1"}]}`, false},
		{"repeated", `{"services":[{"service":"a"},{"service":"a"}]}`, false},
		{"semicolon", `{"services":[{"service":"a","produkt":"1;2"}]}`, false},
		{"no id", `{"services":[{"produkt":"1"}]}`, false},
		{"tax rate", `{"services":[{"service":"a","tax_rate":"7"}]}`, true},
		{"tax rate with decimals", `{"services":[{"service":"a","tax_rate":"19.00"}]}`, true},
		{"tax rate too high", `{"services":[{"service":"a","tax_rate":"101"}]}`, false},
		{"tax rate negative", `{"services":[{"service":"a","tax_rate":"-7"}]}`, false},
		{"tax rate not a number", `{"services":[{"service":"a","tax_rate":"sieben"}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAccounting(strings.NewReader(tt.body))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func FuzzParseExport(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteExport(&buf, []Posting{{PostingID: "B-1", Kind: "payment", AmountCents: 450, Currency: "EUR"}})
	f.Add(buf.Bytes())
	f.Add([]byte(strings.Join(ExportHeader, ";") + "\nZ;0;0.00;;;;;;;;;;;;;;;;\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		postings, err := ParseExport(bytes.NewReader(data))
		if err != nil {
			return
		}
		// What parses must survive a write and a second parse unchanged.
		var out bytes.Buffer
		if err := WriteExport(&out, postings); err != nil {
			t.Fatal(err)
		}
		again, err := ParseExport(bytes.NewReader(out.Bytes()))
		if err != nil || len(again) != len(postings) {
			t.Fatalf("rewrite of a valid file fails: %v", err)
		}
	})
}

func FuzzParseAccounting(f *testing.F) {
	f.Add([]byte(`{"services":[{"service":"erwachsene","haushaltsstelle":"4240.1100"}]}`))
	f.Add([]byte(`{"services":[{"service":"erwachsene","tax_rate":"7"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := ParseAccounting(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, a := range list {
			if a.Service == "" || strings.ContainsAny(a.Produkt+a.Sachkonto+a.BookingText, ";\n") || a.TaxRateBasisPoints < 0 || a.TaxRateBasisPoints > 10000 {
				t.Fatalf("accepted %+v", a)
			}
		}
	})
}
