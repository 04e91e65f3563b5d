package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// vtimezone is Europe/Berlin with the EU's summer-time rules.
const vtimezone = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" +
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\n"

// icsEscape escapes a TEXT value (RFC 5545 3.3.11).
func icsEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", "").Replace(s)
}

// calendarFile is the booking as an iCalendar file: no ORGANIZER or
// ATTENDEE (calendar programs would answer invitations), no manage token
// (calendars get shared), a reminder the day before.
func calendarFile(b *booking.Booking, uid, summary, location string, tz *time.Location, now time.Time) []byte {
	const local = "20060102T150405"
	var s strings.Builder
	s.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//termin//DE\r\nCALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n")
	s.WriteString(vtimezone)
	s.WriteString("BEGIN:VEVENT\r\n")
	fmt.Fprintf(&s, "UID:%s\r\nDTSTAMP:%s\r\n", uid, now.UTC().Format("20060102T150405Z"))
	fmt.Fprintf(&s, "DTSTART;TZID=Europe/Berlin:%s\r\nDTEND;TZID=Europe/Berlin:%s\r\n", b.Start.In(tz).Format(local), b.End.In(tz).Format(local))
	fmt.Fprintf(&s, "SUMMARY:%s\r\n", icsEscape(summary))
	if location != "" {
		fmt.Fprintf(&s, "LOCATION:%s\r\n", icsEscape(location))
	}
	fmt.Fprintf(&s, "DESCRIPTION:%s\r\n", icsEscape(b.Code))
	s.WriteString("STATUS:CONFIRMED\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:" + icsEscape(summary) + "\r\nTRIGGER:-P1D\r\nEND:VALARM\r\n")
	s.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	return []byte(s.String())
}
