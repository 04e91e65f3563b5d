package citizen

import (
	"time"

	"github.com/digitale-verwaltung/termin/booking"
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
	var out availabilityJSON
	if slots != nil {
		out.Slots = make([]slotJSON, len(slots))
	}
	for i, s := range slots {
		out.Slots[i] = slotJSON{Start: s.Start, End: s.End, Free: s.Free}
	}
	return out
}
