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

type calendarDayJSON struct {
	Day  string `json:"day"`
	Free int    `json:"free"`
}

type calendarJSON struct {
	Days []calendarDayJSON `json:"days"`
	// Next is the next free appointment; null when there is none in the
	// booking window.
	Next *slotJSON `json:"next"`
}

func newCalendarJSON(cal *booking.Calendar) calendarJSON {
	out := calendarJSON{Days: response.List(cal.Days, func(d *booking.CalendarDay) calendarDayJSON {
		return calendarDayJSON{Day: d.Day.String(), Free: d.Free}
	})}
	if cal.Next != nil {
		out.Next = &slotJSON{Start: cal.Next.Start, End: cal.Next.End, Free: cal.Next.Free}
	}
	return out
}
