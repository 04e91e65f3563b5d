package payment

import "testing"

func TestSanitizePurpose(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Gebühr Meldebescheinigung", "Gebuehr Meldebescheinigung"},
		{"Straße & Größe", "Strasse + Groesse"},
		{"  viel   Platz\t\n hier ", "viel Platz hier"},
		{"Café Noël №5 €", "Cafe Noel 5"},
		{"ÄÖÜäöüß", "AeOeUeaeoeuess"},
		{"KZ:123/45-6?(a).b,c'd+e", "KZ:123/45-6?(a).b,c'd+e"},
		{"Hallenbad Ticket Erwachsene 2x 10:00", "Hallenbad Ticket Erwachsene"}, // cut at 27
		{"abcdefghijklmnopqrstuvwxy z1", "abcdefghijklmnopqrstuvwxy z"},
		{"日本語", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got := SanitizePurpose(tt.in)
		if got != tt.want {
			t.Errorf("SanitizePurpose(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) > MaxPurposeLen {
			t.Errorf("SanitizePurpose(%q) is %d long", tt.in, len(got))
		}
		if again := SanitizePurpose(got); again != got {
			t.Errorf("SanitizePurpose not idempotent on %q: %q", got, again)
		}
	}
}

func FuzzSanitizePurpose(f *testing.F) {
	f.Add("Gebühr Straße")
	f.Add("x\u00a0y")
	f.Fuzz(func(t *testing.T, s string) {
		got := SanitizePurpose(s)
		if len(got) > MaxPurposeLen {
			t.Fatalf("too long: %q", got)
		}
		for _, r := range got {
			if !sepaAllowed(r) {
				t.Fatalf("rune %q not allowed in %q", r, got)
			}
		}
		if SanitizePurpose(got) != got {
			t.Fatalf("not idempotent: %q", got)
		}
	})
}
