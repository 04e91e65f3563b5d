package booking

import (
	"errors"
	"fmt"
	"time"
)

// Kinds of release schedule.
const (
	// ReleaseRolling (the zero value): every day up to the horizon can be
	// booked, as before release schedules existed.
	ReleaseRolling = ""
	// ReleaseDaily: every day at At, the day DaysAhead days later opens.
	ReleaseDaily = "day"
	// ReleaseMonthly: on day DayOfMonth of each month at At, every day of
	// the following month opens.
	ReleaseMonthly = "month"
)

// ErrNotReleased: the day of the start is inside the horizon but its
// appointments are not released yet (see Location.ReleaseOf for when).
var ErrNotReleased = errors.New("day not released for booking yet")

// Release is when a location's days become bookable. A day can be booked
// once it is released, while it lies within the horizon and while the
// start is at least the lead time ahead; the three are decided together
// in Location.window.
type Release struct {
	// Every is ReleaseRolling, ReleaseDaily or ReleaseMonthly.
	Every string
	// At is the local wall-clock time of a release. A time that does not
	// exist on a spring-forward day (02:30 in Europe/Berlin) is the
	// instant the clocks skip to, shifted by the gap (03:30 summer time);
	// a time that occurs twice on the autumn day is its first occurrence.
	// This is how RFC 5545 reads such times.
	At ClockTime
	// DaysAhead (daily): how many days after the release day the day it
	// releases is.
	DaysAhead int
	// DayOfMonth (monthly): the day of the month of the release, 1-28 so
	// every month has it.
	DayOfMonth int
}

// validate checks the schedule against the horizon.
func (r Release) validate(horizon int) error {
	switch r.Every {
	case ReleaseRolling:
		return nil
	case ReleaseDaily:
		if r.DaysAhead < 0 || r.DaysAhead > horizon {
			return fmt.Errorf("release days_ahead must be between 0 and the horizon (%d)", horizon)
		}
	case ReleaseMonthly:
		if r.DayOfMonth < 1 || r.DayOfMonth > 28 {
			return fmt.Errorf("release day_of_month must be between 1 and 28")
		}
	default:
		return fmt.Errorf("release every %q is neither %q nor %q", r.Every, ReleaseDaily, ReleaseMonthly)
	}
	if r.At < 0 || r.At >= 24*60 {
		return fmt.Errorf("release at must be a time of day before 24:00")
	}
	return nil
}

// wallClock is the instant of wall-clock time c on day d in tz, read as
// Release.At documents: a time in a spring-forward gap is shifted by the
// gap (Go's time.Date does that), a time that occurs twice is the first
// occurrence (time.Date picks either, so the earlier one is looked for).
func wallClock(c ClockTime, d Date, tz *time.Location) time.Time {
	t := c.On(d, tz)
	_, before := t.Add(-3 * time.Hour).Zone()
	_, after := t.Zone()
	if before > after {
		// Clocks went back around t: the same wall time may also exist
		// at the earlier offset.
		earlier := t.Add(-time.Duration(before-after) * time.Second)
		if earlier.In(tz).Format("2006-01-02 15:04") == t.In(tz).Format("2006-01-02 15:04") {
			return earlier
		}
	}
	return t
}

// monthStart is the first day of the month m months after d's.
func monthStart(d Date, m int) Date {
	return DateOf(time.Date(d.Year, d.Month+time.Month(m), 1, 12, 0, 0, 0, time.UTC))
}

// releaseOn is the release instant on the given release day.
func (l *Location) releaseOn(day Date, tz *time.Location) time.Time {
	return wallClock(l.Release.At, day, tz)
}

// releaseDayOf is the local day on which day d is released.
func (l *Location) releaseDayOf(d Date) Date {
	if l.Release.Every == ReleaseMonthly {
		m := monthStart(d, -1)
		return Date{m.Year, m.Month, l.Release.DayOfMonth}
	}
	return d.AddDays(-l.Release.DaysAhead)
}

// ReleaseOf returns the instant day d is released for booking; ok is
// false when the location has no release schedule (its days open as the
// horizon reaches them).
func (l *Location) ReleaseOf(d Date, tz *time.Location) (at time.Time, ok bool) {
	if l.Release.Every == ReleaseRolling {
		return time.Time{}, false
	}
	return l.releaseOn(l.releaseDayOf(d), tz), true
}

// releasedThrough is the last local day released at now; ok is false
// without a release schedule.
func (l *Location) releasedThrough(tz *time.Location, now time.Time) (Date, bool) {
	today := DateOf(now.In(tz))
	switch l.Release.Every {
	case ReleaseDaily:
		if now.Before(l.releaseOn(today, tz)) {
			return today.AddDays(l.Release.DaysAhead - 1), true
		}
		return today.AddDays(l.Release.DaysAhead), true
	case ReleaseMonthly:
		// The last day of the month after the latest release.
		months := 1
		if now.Before(l.releaseOn(Date{today.Year, today.Month, l.Release.DayOfMonth}, tz)) {
			months = 0
		}
		return monthStart(today, months+1).AddDays(-1), true
	}
	return Date{}, false
}

// NextRelease returns the first release after now and the days it opens
// (those of them inside the horizon at the release); ok is false when the
// location has no release schedule. A waiting room opens in front of it.
func (l *Location) NextRelease(now time.Time, tz *time.Location) (at time.Time, days []Date, ok bool) {
	today := DateOf(now.In(tz))
	var releaseDay Date
	switch l.Release.Every {
	case ReleaseDaily:
		releaseDay = today
		if !now.Before(l.releaseOn(today, tz)) {
			releaseDay = today.AddDays(1)
		}
		days = []Date{releaseDay.AddDays(l.Release.DaysAhead)}
	case ReleaseMonthly:
		releaseDay = Date{today.Year, today.Month, l.Release.DayOfMonth}
		if !now.Before(l.releaseOn(releaseDay, tz)) {
			m := monthStart(today, 1)
			releaseDay = Date{m.Year, m.Month, l.Release.DayOfMonth}
		}
		first := monthStart(releaseDay, 1)
		for d := first; d.Before(monthStart(releaseDay, 2)); d = d.AddDays(1) {
			days = append(days, d)
		}
	default:
		return time.Time{}, nil, false
	}
	last := releaseDay.AddDays(l.horizonDays())
	kept := days[:0]
	for _, d := range days {
		if !last.Before(d) {
			kept = append(kept, d)
		}
	}
	return l.releaseOn(releaseDay, tz), kept, true
}
