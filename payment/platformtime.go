package payment

import (
	"errors"
	"strings"
	"time"
)

// ErrBadTimestamp reports a platform timestamp in none of the known
// layouts.
var ErrBadTimestamp = errors.New("unreadable platform timestamp")

// zonedLayouts carry their own offset.
var zonedLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	time.RFC1123Z,
	time.RFC1123,
}

// localLayouts have no zone: they are read in the platform's local time.
var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"02.01.2006 15:04:05",
	"02.01.2006 15:04",
	"20060102150405",
	time.DateOnly,
	"02.01.2006",
}

// ParsePlatformTime reads a timestamp of a payment platform leniently:
// RFC 3339 and a few relatives with an offset, or one of the common
// zone-less layouts, which are read in loc (Europe/Berlin: German
// platforms answer in local time). Milliseconds as epoch numbers are not
// guessed at. The zero time of .NET ("0001-01-01T00:00:00") and an empty
// string mean "not set": ok is false and err nil.
func ParsePlatformTime(s string, loc *time.Location) (t time.Time, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "0001-01-01") {
		return time.Time{}, false, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true, nil
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true, nil
		}
	}
	if len(s) > 40 {
		s = s[:40]
	}
	return time.Time{}, false, errors.Join(ErrBadTimestamp, errors.New(s))
}

// Berlin is Europe/Berlin, or UTC where the zone database is missing
// (the binaries embed it through internal/config).
func Berlin() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}
