package booking

import (
	"fmt"
	"sort"
	"time"
)

// Holiday is a public holiday.
type Holiday struct {
	Date Date
	Name string
}

// easterSunday computes Easter Sunday of the Gregorian calendar (the
// anonymous Gregorian algorithm, also known as Meeus/Jones/Butcher).
func easterSunday(year int) Date {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}

// HolidaysRLP returns the statutory public holidays of Rhineland-Palatinate
// in year, sorted by date.
func HolidaysRLP(year int) []Holiday {
	easter := easterSunday(year)
	hs := []Holiday{
		{Date{year, time.January, 1}, "Neujahr"},
		{easter.AddDays(-2), "Karfreitag"},
		{easter.AddDays(1), "Ostermontag"},
		{Date{year, time.May, 1}, "Tag der Arbeit"},
		{easter.AddDays(39), "Christi Himmelfahrt"},
		{easter.AddDays(50), "Pfingstmontag"},
		{easter.AddDays(60), "Fronleichnam"},
		{Date{year, time.October, 3}, "Tag der Deutschen Einheit"},
		{Date{year, time.November, 1}, "Allerheiligen"},
		{Date{year, time.December, 25}, "1. Weihnachtstag"},
		{Date{year, time.December, 26}, "2. Weihnachtstag"},
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Date.Before(hs[j].Date) })
	return hs
}

// HolidayRLP reports whether d is a public holiday in Rhineland-Palatinate.
func HolidayRLP(d Date) (Holiday, bool) {
	for _, h := range HolidaysRLP(d.Year) {
		if h.Date == d {
			return h, true
		}
	}
	return Holiday{}, false
}

// TimeLocation loads the location's time zone.
func (l *Location) TimeLocation() (*time.Location, error) {
	tz, err := time.LoadLocation(l.Timezone)
	if err != nil {
		return nil, fmt.Errorf("location %s: time zone %q: %w", l.ID, l.Timezone, err)
	}
	return tz, nil
}

// Period is an opening interval on one day.
type Period struct{ Start, End time.Time }

// OpenPeriods returns the intervals the location is open on local day d.
func (l *Location) OpenPeriods(d Date, tz *time.Location) []Period {
	for _, c := range l.Closures {
		if c.Day == d {
			return nil
		}
	}
	if l.ClosedOnHolidays {
		if _, ok := HolidayRLP(d); ok {
			return nil
		}
	}
	var ps []Period
	for _, r := range l.Opening {
		if r.Weekday != d.Weekday() {
			continue
		}
		ps = append(ps, Period{r.Opens.On(d, tz), r.Closes.On(d, tz)})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Start.Before(ps[j].Start) })
	return ps
}

// Starts returns the start times a service can be booked at on local day d.
// Starts step by the service's duration from each opening; a start whose
// service would run past closing is left out. Steps are absolute durations,
// so on the day clocks go forward the hour that does not exist yields no
// starts, and on the day they go back the repeated hour yields both.
func (l *Location) Starts(s *Service, d Date, tz *time.Location) []time.Time {
	dur := time.Duration(s.DurationMinutes) * time.Minute
	if dur <= 0 {
		return nil
	}
	var starts []time.Time
	for _, p := range l.OpenPeriods(d, tz) {
		for t := p.Start; !t.Add(dur).After(p.End); t = t.Add(dur) {
			starts = append(starts, t)
		}
	}
	return starts
}

// cell is the index of the grid cell that instant t falls in on local day
// d. Cells count absolute minutes from local midnight, so they stay
// distinct on the two DST switch days.
func (l *Location) cell(d Date, tz *time.Location, t time.Time) int {
	return int(t.Sub(d.Midnight(tz)).Minutes()) / l.SlotMinutes
}

// Validate checks a location and its services for the rules slot
// generation relies on.
func (l *Location) Validate(services []Service) error {
	switch {
	case l.ID == "":
		return fmt.Errorf("location without id")
	case l.Kind != KindOffice && l.Kind != KindPool:
		return fmt.Errorf("location %s: kind %q is neither office nor pool", l.ID, l.Kind)
	case l.Capacity < 1:
		return fmt.Errorf("location %s: capacity must be at least 1", l.ID)
	case l.SlotMinutes < 1:
		return fmt.Errorf("location %s: slot_minutes must be at least 1", l.ID)
	case l.BookingHorizonDays < 0 || l.BookingHorizonDays > MaxHorizonDays:
		return fmt.Errorf("location %s: booking_horizon_days must be between 1 and %d", l.ID, MaxHorizonDays)
	case l.LeadMinutes < 0 || l.LeadMinutes > 30*24*60:
		return fmt.Errorf("location %s: lead_minutes must be between 0 and 43200", l.ID)
	case l.ActivationMinutes < 0 || l.ActivationMinutes > 7*24*60:
		return fmt.Errorf("location %s: activation_minutes must be between 0 and 10080", l.ID)
	case l.CancelBlockMinutes < 0 || l.CancelBlockMinutes > 7*24*60:
		return fmt.Errorf("location %s: cancel_block_minutes must be between 0 and 10080", l.ID)
	}
	if err := l.Release.validate(l.horizonDays()); err != nil {
		return fmt.Errorf("location %s: %w", l.ID, err)
	}
	if _, err := l.TimeLocation(); err != nil {
		return err
	}
	for _, r := range l.Opening {
		if r.Closes <= r.Opens {
			return fmt.Errorf("location %s: %s opening %s-%s closes before it opens", l.ID, r.Weekday, r.Opens, r.Closes)
		}
		// Every start must fall on the same grid phase, so cell indexes of
		// consecutive slots differ by exactly one.
		if int(r.Opens)%l.SlotMinutes != int(l.Opening[0].Opens)%l.SlotMinutes {
			return fmt.Errorf("location %s: opening times must lie on one %d-minute grid", l.ID, l.SlotMinutes)
		}
	}
	for _, s := range services {
		switch {
		case s.ID == "":
			return fmt.Errorf("location %s: service without id", l.ID)
		case s.DurationMinutes < l.SlotMinutes || s.DurationMinutes%l.SlotMinutes != 0:
			return fmt.Errorf("service %s: duration %d is not a multiple of the %d-minute grid", s.ID, s.DurationMinutes, l.SlotMinutes)
		case s.Payment != PayOnline && s.Payment != PayCounter:
			return fmt.Errorf("service %s: payment %q is neither online nor counter", s.ID, s.Payment)
		case s.FeeCents < 0:
			return fmt.Errorf("service %s: negative fee", s.ID)
		case s.QueuePrefix != "" && (len(s.QueuePrefix) != 1 || s.QueuePrefix[0] < 'A' || s.QueuePrefix[0] > 'Z' || s.QueuePrefix == CheckInPrefix):
			return fmt.Errorf("service %s: queue_prefix must be one letter A-Z other than %s", s.ID, CheckInPrefix)
		case s.MaxUnits < 1 || s.MaxUnits > l.Capacity:
			return fmt.Errorf("service %s: max_units must be between 1 and the capacity", s.ID)
		}
	}
	return nil
}

// NextOpening reports whether the location is open at t and, when it is
// not, the start of its next opening within the coming two weeks (zero
// when there is none).
func (l *Location) NextOpening(t time.Time, tz *time.Location) (open bool, next time.Time) {
	day := DateOf(t.In(tz))
	for i := 0; i <= 14; i++ {
		for _, p := range l.OpenPeriods(day.AddDays(i), tz) {
			if !t.Before(p.Start) && t.Before(p.End) {
				return true, time.Time{}
			}
			if p.Start.After(t) {
				return false, p.Start
			}
		}
	}
	return false, time.Time{}
}
