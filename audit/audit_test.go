package audit

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShortenAddress(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.123":                "192.0.2.0/24",
		"192.0.2.123:4711":           "192.0.2.0/24",
		"::ffff:198.51.100.7":        "198.51.100.0/24",
		"2001:db8:abcd:12:1::7":      "2001:db8:abcd::/48",
		"[2001:db8:abcd:12::1]:8080": "2001:db8:abcd::/48",
		"fe80::1%eth0":               "fe80::/48",
		"":                           "",
		"not an address":             "",
		"example.org":                "",
	} {
		if got := ShortenAddress(in); got != want {
			t.Errorf("ShortenAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzShortenAddress(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "[::1]:80", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := ShortenAddress(s)
		if out != "" && !strings.HasSuffix(out, "/24") && !strings.HasSuffix(out, "/48") {
			t.Fatalf("ShortenAddress(%q) = %q keeps more than the network", s, out)
		}
	})
}

func TestCleanCutsAndFlattens(t *testing.T) {
	e := Entry{Action: strings.Repeat("a", 100), Detail: "zwei\nZeilen\x00" + strings.Repeat("ä", 600), Login: "\xffx"}.Clean()
	if utf8.RuneCountInString(e.Action) != MaxActionLen || utf8.RuneCountInString(e.Detail) != MaxDetailLen {
		t.Fatalf("not cut: %d %d", utf8.RuneCountInString(e.Action), utf8.RuneCountInString(e.Detail))
	}
	if strings.ContainsAny(e.Detail, "\n\x00") || !utf8.ValidString(e.Login) {
		t.Fatalf("control characters or invalid UTF-8 kept: %q %q", e.Detail[:20], e.Login)
	}
}
