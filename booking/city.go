package booking

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// City is the catalog file format: locations with their opening hours,
// closures and services. See deploy/demo-city.json.
type City struct {
	Locations []CityLocation `json:"locations"`
}

// CityLocation is a location as written in a city file.
type CityLocation struct {
	Location
	Hours    []CityHours `json:"hours"`
	Services []Service   `json:"services"`
}

// CityHours opens a location on several weekdays at once.
type CityHours struct {
	Days   []string  `json:"days"` // mon, tue, wed, thu, fri, sat, sun
	Opens  ClockTime `json:"opens"`
	Closes ClockTime `json:"closes"`
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseCity reads and validates a city file.
func ParseCity(r io.Reader) ([]Location, []Service, error) {
	var c City
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, nil, fmt.Errorf("city file: %w", err)
	}
	var locs []Location
	var services []Service
	for _, cl := range c.Locations {
		l := cl.Location
		for _, h := range cl.Hours {
			for _, day := range h.Days {
				wd, ok := weekdays[strings.ToLower(day)]
				if !ok {
					return nil, nil, fmt.Errorf("city file: location %s: unknown weekday %q", l.ID, day)
				}
				l.Opening = append(l.Opening, OpeningRule{Weekday: wd, Opens: h.Opens, Closes: h.Closes})
			}
		}
		for i := range cl.Services {
			cl.Services[i].LocationID = l.ID
		}
		if err := l.Validate(cl.Services); err != nil {
			return nil, nil, fmt.Errorf("city file: %w", err)
		}
		locs = append(locs, l)
		services = append(services, cl.Services...)
	}
	return locs, services, nil
}

// LoadCity parses a city file and saves it as the catalog.
func LoadCity(ctx context.Context, pg *Postgres, r io.Reader) error {
	locs, services, err := ParseCity(r)
	if err != nil {
		return err
	}
	return pg.SaveCatalog(ctx, locs, services)
}
