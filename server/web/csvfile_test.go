package web

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestCSVSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Bürgeramt", "Bürgeramt"},
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"+49 261", "'+49 261"},
		{"-cmd", "'-cmd"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"-4,50", "-4,50"},
		{"12", "12"},
		{"1,5", "1,5"},
		{"-", "'-"},
		{"a=b", "a=b"},
	}
	for _, tt := range tests {
		if got := csvSafe(tt.in); got != tt.want {
			t.Errorf("csvSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCSVNumbers(t *testing.T) {
	for cents, want := range map[int64]string{0: "0,00", 5: "0,05", 450: "4,50", -450: "-4,50", 123456: "1234,56", -7: "-0,07"} {
		if got := csvCents(cents); got != want {
			t.Errorf("csvCents(%d) = %q, want %q", cents, got, want)
		}
	}
	if got := csvDecimal(12.25); got != "12,2" && got != "12,3" {
		t.Errorf("csvDecimal = %q", got)
	}
}

// The file as a spreadsheet gets it: byte order mark, ";", CRLF, quotes
// where a cell holds the separator, a quote or a line break, formulas
// defused.
func TestCSVFileGolden(t *testing.T) {
	got, err := csvFile([]string{"Kassenzeichen", "Betrag", "Buchungstext"}, [][]string{
		{"TB0000000012", csvCents(450), "Eintritt Stadtbad; Erwachsene"},
		{"TB0000000020", csvCents(-450), `Storno "Familie"`},
		{"TB0000000038", csvCents(2800), "Reisepass\nExpress"},
		{"TB0000000046", csvCents(1000), "=1+1"},
		{"TB0000000053", csvCents(990), "Grüße aus Koblenz – ß"},
	})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "export.csv")
	if *updateGolden {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("CSV differs from %s:\n%q\nwant\n%q", golden, got, want)
	}
}

// Whatever text goes into a cell, the file reads back as the same number
// of rows and fields, and no field a spreadsheet would run as a formula.
func FuzzCSVFile(f *testing.F) {
	for _, s := range []string{"=1+1", "a;b", "\"q\"", "x\r\ny", "-4,50", "@SUM(A1)", "\t=cmd", "Grüße"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			t.Skip()
		}
		data, err := csvFile([]string{"a", "b"}, [][]string{{a, b}})
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(utf8BOM))))
		r.Comma = ';'
		rows, err := r.ReadAll()
		if err != nil || len(rows) != 2 || len(rows[1]) != 2 {
			t.Fatalf("read back %q: %v %q", data, err, rows)
		}
		for _, cell := range rows[1] {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !csvNumber.MatchString(cell) {
				t.Fatalf("formula cell %q", cell)
			}
		}
	})
}
