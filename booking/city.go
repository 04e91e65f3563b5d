package booking

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// The catalog file format: locations with their opening hours, closures
// and services. See server/democity.json. These decode structs are the
// file's documented layout. Fields added later are optional, so older
// files load unchanged:
//
//	location "address": {"street": "Bahnhofstraße 47", "postal_code": "56068", "city": "Koblenz"}
//	    shown on the confirmation page and in mails; empty when missing.
//	location "lead_minutes": 60
//	    a start must lie at least this long after the booking; 0 (default):
//	    any future start.
//	location "activation_minutes": 30
//	    double opt-in: a booking waits for the click in its activation mail
//	    and is released after this many minutes; 0 (default): off. Bookings
//	    of paid services are confirmed by their payment instead.
//	location "release": {"every": "day", "at": "08:00", "days_ahead": 14}
//	    every day at 08:00 the day 14 days later opens for booking; or
//	    {"every": "month", "at": "08:00", "day_of_month": 1}: on the 1st of
//	    each month at 08:00 every day of the next month opens. Missing: all
//	    days of the horizon are open (a rolling horizon).
//	location "cancel_block_minutes": 30
//	    a cancelled booking's units stay blocked this long before they can
//	    be held again; missing: DefaultCancelBlockMinutes, 0: freed at once.
//	service "what_to_bring": {"de": "Personalausweis, biometrisches Passfoto", "en": "ID card, biometric photo"}
//	    shown on the confirmation page and in mails; "en" falls back to "de".
type cityFile struct {
	Locations []cityLocation `json:"locations"`
}

type cityLocation struct {
	ID                 string        `json:"id"`
	Kind               string        `json:"kind"`
	Name               string        `json:"name"`
	Timezone           string        `json:"timezone"`
	Capacity           int           `json:"capacity"`
	SlotMinutes        int           `json:"slot_minutes"`
	ClosedOnHolidays   bool          `json:"closed_on_holidays"`
	BookingHorizonDays int           `json:"booking_horizon_days"`
	LeadMinutes        int           `json:"lead_minutes"`
	ActivationMinutes  int           `json:"activation_minutes"`
	Release            *cityRelease  `json:"release"`
	CancelBlockMinutes *int          `json:"cancel_block_minutes"`
	Address            cityAddress   `json:"address"`
	Opening            []cityOpening `json:"opening,omitempty"`
	Closures           []cityClosure `json:"closures"`
	Hours              []cityHours   `json:"hours"`
	Services           []cityService `json:"services"`
}

type cityRelease struct {
	Every      string    `json:"every"`
	At         ClockTime `json:"at"`
	DaysAhead  int       `json:"days_ahead"`
	DayOfMonth int       `json:"day_of_month"`
}

// DefaultCancelBlockMinutes is how long a cancelled booking's units stay
// blocked when the city file does not say.
const DefaultCancelBlockMinutes = 30

type cityAddress struct {
	Street     string `json:"street"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
}

type cityText struct {
	DE string `json:"de"`
	EN string `json:"en"`
}

type cityOpening struct {
	Weekday time.Weekday `json:"weekday"`
	Opens   ClockTime    `json:"opens"`
	Closes  ClockTime    `json:"closes"`
}

type cityClosure struct {
	Day    Date   `json:"day"`
	Reason string `json:"reason"`
}

// cityHours opens a location on several weekdays at once.
type cityHours struct {
	Days   []string  `json:"days"` // mon, tue, wed, thu, fri, sat, sun
	Opens  ClockTime `json:"opens"`
	Closes ClockTime `json:"closes"`
}

type cityService struct {
	ID              string   `json:"id"`
	Location        string   `json:"location,omitempty"`
	Name            string   `json:"name"`
	DurationMinutes int      `json:"duration_minutes"`
	FeeCents        int64    `json:"fee_cents"`
	Payment         string   `json:"payment"`
	MaxUnits        int      `json:"max_units"`
	QueuePrefix     string   `json:"queue_prefix"`
	WhatToBring     cityText `json:"what_to_bring"`
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseCity reads and validates a city file.
func ParseCity(r io.Reader) ([]Location, []Service, error) {
	var c cityFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, nil, fmt.Errorf("city file: %w", err)
	}
	var locs []Location
	var services []Service
	for _, cl := range c.Locations {
		l := Location{ID: cl.ID, Kind: cl.Kind, Name: cl.Name, Timezone: cl.Timezone, Capacity: cl.Capacity,
			SlotMinutes: cl.SlotMinutes, ClosedOnHolidays: cl.ClosedOnHolidays, BookingHorizonDays: cl.BookingHorizonDays,
			LeadMinutes: cl.LeadMinutes, ActivationMinutes: cl.ActivationMinutes,
			Address:            Address{Street: cl.Address.Street, PostalCode: cl.Address.PostalCode, City: cl.Address.City},
			CancelBlockMinutes: DefaultCancelBlockMinutes}
		if cl.CancelBlockMinutes != nil {
			l.CancelBlockMinutes = *cl.CancelBlockMinutes
		}
		if r := cl.Release; r != nil {
			if r.Every == "" {
				return nil, nil, fmt.Errorf("city file: location %s: release needs \"every\": %q or %q", cl.ID, ReleaseDaily, ReleaseMonthly)
			}
			l.Release = Release{Every: r.Every, At: r.At, DaysAhead: r.DaysAhead, DayOfMonth: r.DayOfMonth}
		}
		for _, o := range cl.Opening {
			l.Opening = append(l.Opening, OpeningRule{Weekday: o.Weekday, Opens: o.Opens, Closes: o.Closes})
		}
		for _, c := range cl.Closures {
			l.Closures = append(l.Closures, Closure{Day: c.Day, Reason: c.Reason})
		}
		for _, h := range cl.Hours {
			for _, day := range h.Days {
				wd, ok := weekdays[strings.ToLower(day)]
				if !ok {
					return nil, nil, fmt.Errorf("city file: location %s: unknown weekday %q", l.ID, day)
				}
				l.Opening = append(l.Opening, OpeningRule{Weekday: wd, Opens: h.Opens, Closes: h.Closes})
			}
		}
		svcs := make([]Service, len(cl.Services))
		for i, cs := range cl.Services {
			svcs[i] = Service{ID: cs.ID, LocationID: l.ID, Name: cs.Name, DurationMinutes: cs.DurationMinutes,
				FeeCents: cs.FeeCents, Payment: cs.Payment, MaxUnits: cs.MaxUnits, QueuePrefix: cs.QueuePrefix,
				WhatToBring: Text{DE: cs.WhatToBring.DE, EN: cs.WhatToBring.EN}}
		}
		if err := l.Validate(svcs); err != nil {
			return nil, nil, fmt.Errorf("city file: %w", err)
		}
		locs = append(locs, l)
		services = append(services, svcs...)
	}
	return locs, services, nil
}

// LoadCity parses a city file and saves it as the catalog.
func LoadCity(ctx context.Context, s CatalogSaver, r io.Reader) error {
	locs, services, err := ParseCity(r)
	if err != nil {
		return err
	}
	return s.SaveCatalog(ctx, locs, services)
}
