package citizen

import "github.com/digitale-verwaltung/termin/booking"

// Location is a location as the API shows it.
type Location struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

// NewLocation maps a location to its payload.
func NewLocation(l *booking.Location) Location {
	return Location{ID: l.ID, Kind: l.Kind, Name: l.Name, Timezone: l.Timezone}
}

type serviceJSON struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	DurationMinutes int    `json:"duration_minutes"`
	FeeCents        int64  `json:"fee_cents"`
	Payment         string `json:"payment"`
	MaxUnits        int    `json:"max_units"`
}

func newServiceJSON(s *booking.Service) serviceJSON {
	return serviceJSON{s.ID, s.Name, s.DurationMinutes, s.FeeCents, s.Payment, s.MaxUnits}
}
