package citizen

import (
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

type holdRequest struct {
	Location string `json:"location"`
	Service  string `json:"service"`
	Start    string `json:"start"`
	Units    *int   `json:"units"`
	// Services is the multi-service form: several services of one office
	// in one appointment.
	Services []string `json:"services"`
	// Tickets is the pool order form: ticket types with person counts.
	Tickets []itemJSON `json:"tickets"`
	// Pow is the solved challenge, when the location-day asks for one.
	Pow *powJSON `json:"pow"`
}

type holdJSON struct {
	ID          string     `json:"id"`
	ExpiresAt   time.Time  `json:"expires_at"`
	Units       int        `json:"units"`
	UnitIndexes []int      `json:"unit_indexes"`
	Start       time.Time  `json:"start"`
	End         time.Time  `json:"end"`
	Location    string     `json:"location"`
	Service     string     `json:"service"`
	Items       []itemJSON `json:"items"`
}

func newHoldJSON(h *booking.Hold) holdJSON {
	return holdJSON{ID: h.ID, ExpiresAt: h.ExpiresAt, Units: len(h.Units), UnitIndexes: h.Units,
		Start: h.Start, End: h.End, Location: h.LocationID, Service: h.ServiceID, Items: newItemsJSON(h.Items)}
}
