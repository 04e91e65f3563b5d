package agent

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Every catalogue has the same keys as the German one, no empty text, and
// the same formatting verbs.
func TestCataloguesComplete(t *testing.T) {
	verbs := regexp.MustCompile(`%[a-z]`)
	de := catalogues["de"]
	for _, lang := range Languages {
		c := catalogues[lang]
		for key, want := range de {
			got, ok := c[key]
			if !ok || strings.TrimSpace(got) == "" {
				t.Errorf("%s: %q missing", lang, key)
				continue
			}
			if !slices.Equal(verbs.FindAllString(got, -1), verbs.FindAllString(want, -1)) {
				t.Errorf("%s: %q has verbs %q, German %q", lang, key, got, want)
			}
		}
		for key := range c {
			if _, ok := de[key]; !ok {
				t.Errorf("%s: %q is not in the German catalogue", lang, key)
			}
		}
	}
	for code := range localMessages {
		if _, ok := de[code]; !ok {
			t.Errorf("message %q has no catalogue entry", code)
		}
	}
}

func TestMessageText(t *testing.T) {
	server := &Message{Code: "checkin_wrong_day", DE: "Der Termin ist nicht heute.", EN: "The appointment is not today."}
	tests := []struct {
		lang string
		m    *Message
		want localText
	}{
		{"tr", &msgInvalidCode, localText{"Bu kod geçerli bir bilet değil.", "tr"}},
		{"de", server, localText{server.DE, "de"}},
		{"en", server, localText{server.EN, "en"}},
		{"ar", server, localText{server.EN, "en"}},
		{"ru", &Message{Code: "x", DE: "nur Deutsch"}, localText{"nur Deutsch", "de"}},
	}
	for _, tt := range tests {
		if got := messageText(tt.lang, tt.m); got != tt.want {
			t.Errorf("%s %s: %+v, want %+v", tt.lang, tt.m.Code, got, tt.want)
		}
	}
	if textDir("ar") != "rtl" || textDir("uk") != "ltr" {
		t.Error("text direction")
	}
}

// Every screen renders in every language with lang and dir set and no
// text left untranslated from another language's catalogue.
func TestCounterPageRendersEveryLanguage(t *testing.T) {
	appt := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	outcomes := map[string]*Outcome{
		"ticket": {Kind: "checkin", Ticket: &QueueTicket{Number: "T004", ServiceName: "Reisepass", Ahead: 2, EstimatedWaitMinutes: 12}, Appt: &appt},
		"error":  {Kind: "error", Error: &msgInvalidCode},
	}
	for _, lang := range Languages {
		for _, scr := range []string{screenHome, screenAppointment, screenServices, screenResult + "/ticket", screenResult + "/error", "warn"} {
			d := pageData{Location: "Bürgeramt", Lang: lang, Languages: Languages, Prefs: prefs{Lang: lang}, ServerOK: true, TZ: time.UTC,
				Services: []Service{{ID: "reisepass", Name: "Reisepass"}}}
			name, variant, _ := strings.Cut(scr, "/")
			d.Screen = name
			if name == "warn" {
				d.Screen, d.Warn, d.Remaining = screenServices, true, 15
			}
			if variant != "" {
				d.Outcome = outcomes[variant]
			}
			var b strings.Builder
			if err := pages.ExecuteTemplate(&b, "counter.html", d); err != nil {
				t.Fatalf("%s %s: %v", lang, scr, err)
			}
			html := b.String()
			if !strings.Contains(html, `<html lang="`+lang+`" dir="`+textDir(lang)+`"`) {
				t.Errorf("%s %s: no lang/dir on <html>", lang, scr)
			}
			if strings.Contains(html, "%!") || strings.Contains(html, "%d") {
				t.Errorf("%s %s: bad formatting in\n%s", lang, scr, html)
			}
			if d.Announce() == "" {
				t.Errorf("%s %s: nothing to announce", lang, scr)
			}
		}
	}
}
