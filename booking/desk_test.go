package booking

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestValidDesk(t *testing.T) {
	for s, want := range map[string]bool{
		"3": true, "12a": true, "Info": true, "Platz 4": true, "A-1": true, "Schalter für Gäste": true,
		"": false, " 3": false, "3 ": false, "3<b>": false, "1\n2": false, "123456789012345678901": false,
	} {
		if got := ValidDesk(s); got != want {
			t.Errorf("ValidDesk(%q) = %v, want %v", s, got, want)
		}
	}
}

// FuzzValidDesk: whatever a desk types, an accepted name is short and
// holds nothing but letters, digits, spaces and hyphens, so the call
// display can show it as it is.
func FuzzValidDesk(f *testing.F) {
	for _, s := range []string{"3", "12a", "Platz 4", "", " ", "<b>", "\x00", "ä", strings.Repeat("9", 21)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidDesk(s) {
			return
		}
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxDeskLength || strings.TrimSpace(s) != s {
			t.Fatalf("accepted %q", s)
		}
		for _, r := range s {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && r != '-' {
				t.Fatalf("accepted %q with %q", s, r)
			}
		}
	})
}
