package web

import (
	"io/fs"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// Both catalogues have the same keys, and every key a template uses
// exists (a missing map key would render as nothing).
func TestCatalogueComplete(t *testing.T) {
	for _, l := range languages {
		for k := range catalog["de"] {
			if _, ok := catalog[l][k]; !ok {
				t.Errorf("%s lacks %q", l, k)
			}
		}
		for k := range catalog[l] {
			if _, ok := catalog["de"][k]; !ok {
				t.Errorf("de lacks %q (in %s)", k, l)
			}
		}
	}
	used := regexp.MustCompile(`\.T\.([a-z0-9_]+)`)
	names, _ := fs.Glob(templateFS, "templates/*.html")
	var missing []string
	for _, n := range names {
		b, _ := templateFS.ReadFile(n)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := catalog["de"][m[1]]; !ok {
				missing = append(missing, n+": "+m[1])
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("template uses unknown text %s", m)
	}
}

func TestPagesParse(t *testing.T) {
	for _, want := range []string{"index", "choice", "days", "times", "contact", "review", "booking", "cancel", "payment", "message", "token", "accessibility"} {
		if pages[want] == nil {
			t.Errorf("page %s missing", want)
		}
	}
}

func TestHoldTicketRoundTrip(t *testing.T) {
	h := &Handler{Key: []byte("k")}
	now := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	hold := &booking.Hold{ID: "stadtbad.20300107.ABC", LocationID: "stadtbad", Start: now, End: now.Add(time.Hour), ExpiresAt: now.Add(-time.Minute)}
	enc := h.encodeTicket(ticketFor(hold, []Item{{"erwachsene", 2}}))
	got, err := h.decodeTicket(enc)
	if err != nil || got.Hold != hold.ID || got.Items[0].Count != 2 || !got.start().Equal(now) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	other := &Handler{Key: []byte("other")}
	if _, err := other.decodeTicket(enc); err == nil {
		t.Fatal("a ticket signed with another key was accepted")
	}
	for _, bad := range []string{"", ".", "x.y", enc + "x", "e30." + h.sign("e30")} {
		if _, err := h.decodeTicket(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzDecodeTicket(f *testing.F) {
	h := &Handler{Key: []byte("k")}
	now := time.Unix(1900000000, 0)
	f.Add(h.encodeTicket(ticketFor(&booking.Hold{ID: "a.b.c", LocationID: "a", Start: now, End: now, ExpiresAt: now}, []Item{{"s", 1}})))
	f.Add("e30.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		tk, err := h.decodeTicket(s)
		if err == nil && (tk.Hold == "" || len(tk.Items) == 0) {
			t.Fatalf("accepted an empty ticket %q", s)
		}
	})
}

func TestPhone(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"0261 129-0", true}, {"+49 (261) 129 0", true}, {"12345", false}, {"call me", false}, {"0261/1290", true}, {"+++++++", false}} {
		if got := booking.ValidPhone(tt.in); got != tt.ok {
			t.Errorf("ValidPhone(%q) = %v", tt.in, got)
		}
	}
}

func TestFormats(t *testing.T) {
	d := time.Date(2026, 12, 3, 8, 20, 0, 0, time.UTC)
	for _, tt := range []struct{ lang, date, clock, euro string }{
		{"de", "Donnerstag, 3. Dezember 2026", "08:20 Uhr", "37,00 €"},
		{"en", "Thursday, 3 December 2026", "08:20", "€37.00"},
	} {
		tx := textsFor(tt.lang)
		if got := tx.date(d); got != tt.date {
			t.Errorf("%s date %q", tt.lang, got)
		}
		if got := tx.clock(d); got != tt.clock {
			t.Errorf("%s clock %q", tt.lang, got)
		}
		if got := tx.euro(3700); got != tt.euro {
			t.Errorf("%s euro %q", tt.lang, got)
		}
	}
}
