package mail_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/digitale-verwaltung/termin/mail"
)

func TestCalendarEventICS(t *testing.T) {
	start := time.Date(2026, 3, 29, 8, 0, 0, 0, time.UTC) // the day summer time begins: 10:00 CEST
	base := mail.CalendarEvent{
		UID: "q4z8x1c7v2b9n3m5@termin", Method: mail.MethodPublish,
		Start: start, End: start.Add(40 * time.Minute), Timezone: "Europe/Berlin",
		Summary: "Termin Bürgeramt Koblenz: Personalausweis, Reisepass", Location: "Bürgeramt Koblenz, Bahnhofstraße 47",
		Description: "Buchungsnummer K7M2Q9; bitte pünktlich", AlarmText: "Morgen: Termin",
		Stamp: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
	cancelled := base
	cancelled.Method, cancelled.Sequence = mail.MethodCancel, 1
	utc := base
	utc.Timezone = "America/New_York"

	tests := []struct {
		name                string
		ev                  mail.CalendarEvent
		method, status, seq string
		dtstart             string
		tzid                string
		alarm, vtimezone    bool
	}{
		{"confirmation", base, "PUBLISH", "CONFIRMED", "0", "20260329T100000", "Europe/Berlin", true, true},
		{"cancellation", cancelled, "CANCEL", "CANCELLED", "1", "20260329T100000", "Europe/Berlin", false, true},
		{"other zone in UTC", utc, "PUBLISH", "CONFIRMED", "0", "20260329T080000Z", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.ev.ICS()
			if err != nil {
				t.Fatal(err)
			}
			cal, err := mail.ParseICS(data)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, data)
			}
			if cal.Name != "VCALENDAR" || cal.Value("VERSION") != "2.0" || cal.Value("PRODID") == "" {
				t.Errorf("calendar head: %+v", cal.Properties)
			}
			if got := cal.Value("METHOD"); got != tt.method {
				t.Errorf("METHOD %q, want %q", got, tt.method)
			}
			if got := len(cal.Find("VTIMEZONE")) == 1; got != tt.vtimezone {
				t.Errorf("VTIMEZONE present %v, want %v", got, tt.vtimezone)
			}
			if tt.vtimezone {
				tz := cal.Find("VTIMEZONE")[0]
				if tz.Value("TZID") != "Europe/Berlin" || len(tz.Find("DAYLIGHT")) != 1 || len(tz.Find("STANDARD")) != 1 {
					t.Errorf("VTIMEZONE: %+v", tz)
				}
			}
			evs := cal.Find("VEVENT")
			if len(evs) != 1 {
				t.Fatalf("%d VEVENTs", len(evs))
			}
			ev := evs[0]
			if ev.Value("UID") != base.UID {
				t.Errorf("UID %q", ev.Value("UID"))
			}
			if ev.Value("SEQUENCE") != tt.seq || ev.Value("STATUS") != tt.status {
				t.Errorf("SEQUENCE %q STATUS %q", ev.Value("SEQUENCE"), ev.Value("STATUS"))
			}
			dt, _ := ev.Prop("DTSTART")
			if dt.Value != tt.dtstart || dt.Params["TZID"] != tt.tzid {
				t.Errorf("DTSTART %q TZID %q, want %q %q", dt.Value, dt.Params["TZID"], tt.dtstart, tt.tzid)
			}
			if ev.Value("DTSTAMP") != "20260301T120000Z" {
				t.Errorf("DTSTAMP %q", ev.Value("DTSTAMP"))
			}
			if got := mail.UnescapeText(ev.Value("DESCRIPTION")); got != base.Description {
				t.Errorf("DESCRIPTION %q", got)
			}
			for _, forbidden := range []string{"ORGANIZER", "ATTENDEE"} {
				if _, ok := ev.Prop(forbidden); ok {
					t.Errorf("%s present", forbidden)
				}
			}
			alarms := ev.Find("VALARM")
			if got := len(alarms) == 1; got != tt.alarm {
				t.Fatalf("VALARM present %v, want %v", got, tt.alarm)
			}
			if tt.alarm {
				a := alarms[0]
				if a.Value("TRIGGER") != "-P1D" || a.Value("ACTION") != "DISPLAY" || a.Value("DESCRIPTION") == "" {
					t.Errorf("VALARM: %+v", a.Properties)
				}
			}
			for i, line := range strings.Split(string(data), "\r\n") {
				if len(line) > 75 {
					t.Errorf("line %d has %d octets", i, len(line))
				}
			}
		})
	}
}

func TestCalendarEventICSRejects(t *testing.T) {
	start := time.Date(2026, 3, 29, 8, 0, 0, 0, time.UTC)
	ok := mail.CalendarEvent{UID: "x@termin", Method: mail.MethodPublish, Start: start, End: start.Add(time.Hour)}
	noUID, badMethod, backwards := ok, ok, ok
	noUID.UID = ""
	badMethod.Method = "REQUEST"
	backwards.End = start
	for name, ev := range map[string]mail.CalendarEvent{"no UID": noUID, "method": badMethod, "end before start": backwards} {
		if _, err := ev.ICS(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEscapeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a,b;c\\d", `a\,b\;c\\d`},
		{"line1\nline2", `line1\nline2`},
		{"crlf\r\nend", `crlf\nend`},
		{"cr\rend", `cr\nend`},
		{"tab\tok", "tab\tok"},
		{"bell\x07gone", "bellgone"},
		{"bad\xffutf8", "badutf8"},
		{"Straße, Köln", `Straße\, Köln`},
	}
	for _, tt := range tests {
		if got := mail.EscapeText(tt.in); got != tt.want {
			t.Errorf("EscapeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseICSErrors(t *testing.T) {
	tests := map[string]string{
		"LF only":            "BEGIN:VCALENDAR\nEND:VCALENDAR\n",
		"unclosed":           "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n",
		"wrong END":          "BEGIN:VCALENDAR\r\nEND:VEVENT\r\n",
		"property outside":   "VERSION:2.0\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
		"no colon":           "BEGIN:VCALENDAR\r\nVERSION\r\nEND:VCALENDAR\r\n",
		"second root":        "BEGIN:A\r\nEND:A\r\nBEGIN:B\r\nEND:B\r\n",
		"continuation first": " x\r\nBEGIN:A\r\nEND:A\r\n",
		"unterminated quote": "BEGIN:A\r\nX;P=\"abc:d\r\nEND:A\r\n",
		"bad name":           "BEGIN:A\r\nX_Y:1\r\nEND:A\r\n",
		"empty":              "\r\n",
	}
	for name, in := range tests {
		if _, err := mail.ParseICS([]byte(in)); !errors.Is(err, mail.ErrICSSyntax) {
			t.Errorf("%s: err %v, want ErrICSSyntax", name, err)
		}
	}
	cal, err := mail.ParseICS([]byte("BEGIN:A\r\nX;P=\"a;b:c\";Q=d:v:w\r\nEND:A\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cal.Prop("X")
	if p.Params["P"] != "a;b:c" || p.Params["Q"] != "d" || p.Value != "v:w" {
		t.Errorf("quoted parameter: %+v", p)
	}
}

// FuzzTextProperty: any text written as a property value reads back as
// the same text (less what TEXT cannot hold), on lines of at most 75
// octets that never split a UTF-8 character.
func FuzzTextProperty(f *testing.F) {
	for _, s := range []string{"", "a,b;c\\d", "line\r\nbreak", strings.Repeat("ä", 100), strings.Repeat("x", 74) + "😀", "\\n literal", "\x00\x1f\x7f"} {
		f.Add(s)
	}
	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		ev := mail.CalendarEvent{UID: "x@termin", Method: mail.MethodPublish, Start: start, End: start.Add(time.Hour),
			Summary: s, Description: s, Location: s, Timezone: "Europe/Berlin"}
		data, err := ev.ICS()
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(data, []byte("\r\n")) {
			if len(line) > 75 {
				t.Fatalf("line %d has %d octets", i, len(line))
			}
			if utf8.ValidString(s) && !utf8.Valid(line) {
				t.Fatalf("line %d splits a character: %q", i, line)
			}
		}
		cal, err := mail.ParseICS(data)
		if err != nil {
			t.Fatalf("parse: %v\n%q", err, data)
		}
		want := textOf(s)
		vev := cal.Find("VEVENT")[0]
		if got := mail.UnescapeText(vev.Value("DESCRIPTION")); want != "" && got != want {
			t.Fatalf("DESCRIPTION round trip: got %q, want %q", got, want)
		}
		if got := mail.UnescapeText(vev.Value("SUMMARY")); got != want {
			t.Fatalf("SUMMARY round trip: got %q, want %q", got, want)
		}
	})
}

// textOf is what a TEXT value can hold of s: valid UTF-8, line breaks as
// LF, no other control characters but tab.
func textOf(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || (r >= 0x20 && r != 0x7f) {
			return r
		}
		return -1
	}, s)
}

// FuzzParseICS: the parser never panics and what it accepts has one root.
func FuzzParseICS(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n DESCRIPTION folded\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:A\r\nX;P=\"a;b:c\";Q=d:v\r\nEND:A\r\n"))
	f.Add([]byte("BEGIN:A\r\nBEGIN:B\r\nEND:A\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cal, err := mail.ParseICS(data)
		if err != nil {
			if !errors.Is(err, mail.ErrICSSyntax) {
				t.Fatalf("error %v does not wrap ErrICSSyntax", err)
			}
			return
		}
		if cal == nil || cal.Name == "" {
			t.Fatal("accepted without a component")
		}
	})
}
