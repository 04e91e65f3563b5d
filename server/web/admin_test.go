package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every text key the administration's code and templates name exists in
// both languages (a missing key renders as an empty message or button).
func TestAdminTextsExist(t *testing.T) {
	keyRE := regexp.MustCompile(`\badm_[a-z0-9_]+\b`)
	files, _ := filepath.Glob("*admin*.go")
	tmpls, _ := filepath.Glob("templates/*admin*.html")
	seen := map[string]bool{}
	for _, f := range append(files, tmpls...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keyRE.FindAllString(string(b), -1) {
			// Prefixes completed at run time (adm_f_<field>, adm_wd_<day>, ...).
			if strings.HasSuffix(k, "_") || seen[k] {
				continue
			}
			seen[k] = true
			for _, lang := range languages {
				if catalog[lang][k] == "" {
					t.Errorf("%s: text %s missing in %s", f, k, lang)
				}
			}
		}
	}
	if len(seen) < 50 {
		t.Fatalf("found only %d keys; the pattern is wrong", len(seen))
	}
}

func TestParseEuro(t *testing.T) {
	for _, tc := range []struct {
		in    string
		cents int64
		ok    bool
	}{
		{"37", 3700, true}, {"37,5", 3750, true}, {"37,50", 3750, true}, {"37.50", 3750, true}, {"0", 0, true},
		{"4,50 €", 450, true}, {"", 0, false}, {"-1", 0, false}, {"1,234", 0, false}, {"abc", 0, false}, {",5", 0, false},
		{"1.000,00", 0, false}, {"99999999999", 0, false},
	} {
		cents, ok := parseEuro(tc.in)
		if ok != tc.ok || (ok && cents != tc.cents) {
			t.Errorf("parseEuro(%q) = %d, %v; want %d, %v", tc.in, cents, ok, tc.cents, tc.ok)
		}
		if ok {
			if back, _ := parseEuro(formatEuro(cents)); back != cents {
				t.Errorf("formatEuro(%d) = %q reads back as %d", cents, formatEuro(cents), back)
			}
		}
	}
}

func FuzzParseEuro(f *testing.F) {
	for _, s := range []string{"37,50", "0", "4.5", "1,234", "€", "١٢"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cents, ok := parseEuro(s)
		if !ok {
			return
		}
		if cents < 0 || cents > 100_000_000+99 {
			t.Fatalf("parseEuro(%q) = %d", s, cents)
		}
		if back, ok := parseEuro(formatEuro(cents)); !ok || back != cents {
			t.Fatalf("%q: %d formats as %q, reads back %d %v", s, cents, formatEuro(cents), back, ok)
		}
	})
}

func FuzzParseDay(f *testing.F) {
	for _, s := range []string{"24.12.2026", "2026-12-24", "1.1.2027", "31.02.2026", "..", "a.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDay(s)
		if err != nil {
			return
		}
		if back, err := parseDay(d.String()); err != nil || back != d {
			t.Fatalf("%q: %v reads back as %v, %v", s, d, back, err)
		}
	})
}
