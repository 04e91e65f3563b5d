package mail

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFoldLine(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		lines int
	}{
		{"short", "SUMMARY:Termin", 1},
		{"exactly 75", "X:" + strings.Repeat("a", 73), 1},
		{"76 folds", "X:" + strings.Repeat("a", 74), 2},
		{"umlauts are not split", "DESCRIPTION:" + strings.Repeat("ä", 80), 3},
		{"four-octet runes", "DESCRIPTION:" + strings.Repeat("😀", 40), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := foldLine(tt.line)
			if !strings.HasSuffix(got, "\r\n") {
				t.Fatalf("no CRLF at the end: %q", got)
			}
			physical := strings.Split(strings.TrimSuffix(got, "\r\n"), "\r\n")
			if len(physical) != tt.lines {
				t.Errorf("%d physical lines, want %d: %q", len(physical), tt.lines, got)
			}
			var unfolded strings.Builder
			for i, p := range physical {
				if len(p) > maxLineOctets {
					t.Errorf("line %d has %d octets", i, len(p))
				}
				if !utf8.ValidString(p) {
					t.Errorf("line %d splits a character: %q", i, p)
				}
				if i > 0 {
					if p[0] != ' ' {
						t.Errorf("continuation %d does not start with a space", i)
					}
					p = p[1:]
				}
				unfolded.WriteString(p)
			}
			if unfolded.String() != tt.line {
				t.Errorf("unfolded %q, want %q", unfolded.String(), tt.line)
			}
		})
	}
}
