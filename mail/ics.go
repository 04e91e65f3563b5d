package mail

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Calendar methods (RFC 5546) of the attached .ics files.
const (
	MethodPublish = "PUBLISH"
	MethodCancel  = "CANCEL"
)

// maxLineOctets is the longest content line RFC 5545 (3.1) allows without
// the line break; longer lines are folded.
const maxLineOctets = 75

// CalendarEvent is what one calendar file says about a booking.
type CalendarEvent struct {
	UID      string
	Sequence int
	// Method is MethodPublish for a live booking and MethodCancel for a
	// cancelled one (STATUS:CANCELLED, same UID, higher SEQUENCE).
	Method      string
	Start, End  time.Time
	Timezone    string
	Summary     string
	Location    string
	Description string
	// AlarmText is shown by the alarm one day before; no alarm when empty
	// or when the event is cancelled.
	AlarmText string
	// Stamp is DTSTAMP: when the file was made.
	Stamp time.Time
}

// berlinTimezone describes Europe/Berlin by its current rules: summer time
// from the last Sunday in March 02:00 to the last Sunday in October 03:00.
const berlinTimezone = "BEGIN:VTIMEZONE\r\n" +
	"TZID:Europe/Berlin\r\n" +
	"BEGIN:DAYLIGHT\r\n" +
	"TZOFFSETFROM:+0100\r\n" +
	"TZOFFSETTO:+0200\r\n" +
	"TZNAME:CEST\r\n" +
	"DTSTART:19700329T020000\r\n" +
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n" +
	"END:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\n" +
	"TZOFFSETFROM:+0200\r\n" +
	"TZOFFSETTO:+0100\r\n" +
	"TZNAME:CET\r\n" +
	"DTSTART:19701025T030000\r\n" +
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n" +
	"END:STANDARD\r\n" +
	"END:VTIMEZONE\r\n"

// ICS renders the event as an iCalendar file (RFC 5545). There is no
// ORGANIZER or ATTENDEE: calendar programs would answer them with
// invitation replies. Times are local to Europe/Berlin with its VTIMEZONE;
// for any other zone they are written in UTC, which every program reads.
func (e CalendarEvent) ICS() ([]byte, error) {
	if e.UID == "" {
		return nil, fmt.Errorf("calendar event: no UID")
	}
	if e.Method != MethodPublish && e.Method != MethodCancel {
		return nil, fmt.Errorf("calendar event: unknown method %q", e.Method)
	}
	if !e.End.After(e.Start) {
		return nil, fmt.Errorf("calendar event: end %s not after start %s", e.End, e.Start)
	}
	var w icsWriter
	w.line("BEGIN:VCALENDAR")
	w.line("VERSION:2.0")
	w.line("PRODID:-//digitale-verwaltung//termin//DE")
	w.line("CALSCALE:GREGORIAN")
	w.line("METHOD:" + e.Method)
	berlin := e.Timezone == "Europe/Berlin"
	if berlin {
		w.buf.WriteString(berlinTimezone)
	}
	w.line("BEGIN:VEVENT")
	w.text("UID", e.UID)
	w.line("DTSTAMP:" + e.Stamp.UTC().Format("20060102T150405Z"))
	if berlin {
		loc, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			return nil, fmt.Errorf("calendar event: %w", err)
		}
		w.line("DTSTART;TZID=Europe/Berlin:" + e.Start.In(loc).Format("20060102T150405"))
		w.line("DTEND;TZID=Europe/Berlin:" + e.End.In(loc).Format("20060102T150405"))
	} else {
		w.line("DTSTART:" + e.Start.UTC().Format("20060102T150405Z"))
		w.line("DTEND:" + e.End.UTC().Format("20060102T150405Z"))
	}
	w.line(fmt.Sprintf("SEQUENCE:%d", e.Sequence))
	w.text("SUMMARY", e.Summary)
	if e.Location != "" {
		w.text("LOCATION", e.Location)
	}
	if e.Description != "" {
		w.text("DESCRIPTION", e.Description)
	}
	if e.Method == MethodCancel {
		w.line("STATUS:CANCELLED")
	} else {
		w.line("STATUS:CONFIRMED")
	}
	w.line("TRANSP:OPAQUE")
	if e.Method != MethodCancel && e.AlarmText != "" {
		w.line("BEGIN:VALARM")
		w.line("ACTION:DISPLAY")
		w.line("TRIGGER:-P1D")
		w.text("DESCRIPTION", e.AlarmText)
		w.line("END:VALARM")
	}
	w.line("END:VEVENT")
	w.line("END:VCALENDAR")
	return w.buf.Bytes(), nil
}

type icsWriter struct{ buf bytes.Buffer }

// line writes one content line, folded, with CRLF.
func (w *icsWriter) line(s string) { w.buf.WriteString(foldLine(s)) }

// text writes a property whose value is TEXT.
func (w *icsWriter) text(name, value string) { w.line(name + ":" + EscapeText(value)) }

// EscapeText escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon
// and comma get a backslash, every line break becomes \n. Other control
// characters are not allowed in TEXT and are dropped, as is invalid UTF-8.
func EscapeText(s string) string {
	s = strings.ToValidUTF8(s, "")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				i++
			}
			b.WriteString(`\n`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			// control character: dropped
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// UnescapeText reverses EscapeText: \n and \N are line feeds, \\ \; \,
// their characters. A backslash before anything else is kept as it is.
func UnescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch n := s[i+1]; n {
		case 'n', 'N':
			b.WriteByte('\n')
			i++
		case '\\', ';', ',':
			b.WriteByte(n)
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// foldLine breaks a content line into physical lines of at most 75 octets
// (RFC 5545 3.1): each continuation starts with one space, which counts
// towards its 75. A multi-octet UTF-8 character is never split. The result
// ends with CRLF.
func foldLine(s string) string {
	if len(s) <= maxLineOctets {
		return s + "\r\n"
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/maxLineOctets*3 + 2)
	limit := maxLineOctets
	for len(s) > limit {
		cut := limit
		// Step back to the start of a UTF-8 character.
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if cut == 0 {
			cut = limit
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = maxLineOctets - 1
	}
	b.WriteString(s)
	b.WriteString("\r\n")
	return b.String()
}
