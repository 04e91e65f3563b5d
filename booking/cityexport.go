package booking

import (
	"encoding/json"
	"fmt"
	"io"
)

// weekdayNames are the city file's names of the weekdays, Monday first as
// the file lists them.
var weekdayNames = []struct {
	name string
	day  int
}{{"mon", 1}, {"tue", 2}, {"wed", 3}, {"thu", 4}, {"fri", 5}, {"sat", 6}, {"sun", 0}}

// WriteCity writes locations and their services as a city file (the
// format ParseCity reads): opening rules with the same times are written
// as one "hours" entry for all their weekdays.
func WriteCity(w io.Writer, locs []Location, services []Service) error {
	f := cityFile{Locations: make([]cityLocation, 0, len(locs))}
	for _, l := range locs {
		cl := cityLocation{ID: l.ID, Kind: l.Kind, Name: l.Name, Timezone: l.Timezone, Capacity: l.Capacity,
			SlotMinutes: l.SlotMinutes, ClosedOnHolidays: l.ClosedOnHolidays, BookingHorizonDays: l.BookingHorizonDays,
			LeadMinutes: l.LeadMinutes, ActivationMinutes: l.ActivationMinutes,
			Address:  cityAddress{Street: l.Address.Street, PostalCode: l.Address.PostalCode, City: l.Address.City},
			Closures: []cityClosure{}, Hours: []cityHours{}, Services: []cityService{}}
		blockMinutes := l.CancelBlockMinutes
		cl.CancelBlockMinutes = &blockMinutes
		if r := l.Release; r.Every != "" && r.Every != ReleaseRolling {
			cl.Release = &cityRelease{Every: r.Every, At: r.At, DaysAhead: r.DaysAhead, DayOfMonth: r.DayOfMonth}
		}
		type times struct{ opens, closes ClockTime }
		var order []times
		days := map[times][]string{}
		for _, wd := range weekdayNames {
			for _, r := range l.Opening {
				if int(r.Weekday) != wd.day {
					continue
				}
				t := times{r.Opens, r.Closes}
				if _, ok := days[t]; !ok {
					order = append(order, t)
				}
				days[t] = append(days[t], wd.name)
			}
		}
		for _, t := range order {
			cl.Hours = append(cl.Hours, cityHours{Days: days[t], Opens: t.opens, Closes: t.closes})
		}
		for _, c := range l.Closures {
			cl.Closures = append(cl.Closures, cityClosure{Day: c.Day, Reason: c.Reason})
		}
		for _, s := range services {
			if s.LocationID != l.ID {
				continue
			}
			cl.Services = append(cl.Services, cityService{ID: s.ID, Name: s.Name, DurationMinutes: s.DurationMinutes,
				FeeCents: s.FeeCents, Payment: s.Payment, MaxUnits: s.MaxUnits, QueuePrefix: s.QueuePrefix,
				WhatToBring: cityText{DE: s.WhatToBring.DE, EN: s.WhatToBring.EN}})
		}
		f.Locations = append(f.Locations, cl)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("write city file: %w", err)
	}
	return nil
}
