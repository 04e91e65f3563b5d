package citizen

import (
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/response"
)

type slotJSON struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Free  int       `json:"free"`
}

type availabilityJSON struct {
	Slots []slotJSON `json:"slots"`
}

func newAvailabilityJSON(slots []booking.Slot) availabilityJSON {
	return availabilityJSON{Slots: response.List(slots, func(s *booking.Slot) slotJSON {
		return slotJSON{Start: s.Start, End: s.End, Free: s.Free}
	})}
}
