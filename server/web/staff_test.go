package web

import (
	"strings"
	"testing"
)

func TestLocalStaffPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/intern": true, "/intern/konto": true, "/intern?x=1": true, "/intern/protokoll?login=a&aktion=b": true,
		"": false, "/": false, "/internet": false, "//intern": false, "/intern//x": false, "https://x/intern": false,
		"/intern/\\x": false, "/intern/anmelden": false, "/intern/anmelden?weiter=/intern": false,
		"/intern/x\r\nSet-Cookie: a": false, "/intern/" + strings.Repeat("a", 600): false,
	} {
		if got := localStaffPath(p); got != want {
			t.Errorf("localStaffPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func FuzzLocalStaffPath(f *testing.F) {
	for _, s := range []string{"/intern", "/intern/konto?x=1", "//x", "/\\x", "https://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !localStaffPath(p) {
			return
		}
		if !strings.HasPrefix(p, "/intern") || strings.Contains(p, "//") || strings.ContainsAny(p, "\\\r\n") {
			t.Fatalf("accepted %q as a place to go after the login", p)
		}
	})
}

func TestSessionCSRFDiffersPerSession(t *testing.T) {
	a, b := sessionCSRF("session-a"), sessionCSRF("session-b")
	if a == b || a != sessionCSRF("session-a") || len(a) != 24 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if strings.Contains(a, "session") {
		t.Fatal("the token shows the session id")
	}
}

func TestFormProblems(t *testing.T) {
	var p formProblems
	if p.Any() {
		t.Fatal("empty problems")
	}
	p.add("login", "eins")
	p.add("login", "zwei") // one message per field
	p.add("", "allgemein")
	if len(p.summary()) != 2 || p.Field["login"] != "eins" {
		t.Fatalf("%+v", p)
	}
}

func TestStaffNavFollowsRoles(t *testing.T) {
	// Every entry's texts exist in both languages.
	for _, e := range staffNav {
		for _, l := range languages {
			if textsFor(l).get(e.TitleKey) == "" || e.TextKey != "" && textsFor(l).get(e.TextKey) == "" {
				t.Errorf("nav entry %s lacks its %s texts", e.Href, l)
			}
		}
	}
}
