package citizen

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/response"
)

// availability lists the starts of one day range for a choice. The
// original form (service, no units) lists every start with its free
// places; a choice of several services or of tickets lists only the
// starts where the whole choice can be held.
func (h *Handler) availability(c *fiber.Ctx) error {
	loc := c.Query("location")
	if loc == "" {
		return response.Required("location")
	}
	items, err := choiceOfQuery(c)
	if err != nil {
		return err
	}
	from, err := booking.ParseDate(c.Query("from"))
	if err != nil {
		return response.InvalidDate("from")
	}
	to, err := booking.ParseDate(c.Query("to", c.Query("from")))
	if err != nil {
		return response.InvalidDate("to")
	}
	if to.Before(from) {
		return response.Invalid("to", "must not be before from", "darf nicht vor from liegen")
	}
	if from.AddDays(booking.MaxAvailabilityDays - 1).Before(to) {
		return response.ErrRangeTooLong
	}
	var slots []booking.Slot
	if c.Query("service") != "" && c.Query("units") == "" {
		slots, err = h.Reservations.Availability(c.UserContext(), loc, items[0].ServiceID, from, to)
	} else {
		slots, err = h.Reservations.AvailabilityFor(c.UserContext(), loc, items, from, to)
	}
	if err != nil {
		return err
	}
	return response.OK(c, newAvailabilityJSON(slots))
}

// calendar lists the days with a bookable time for a choice and the next
// free appointment. from and to are optional: the booking window's first
// and last day.
func (h *Handler) calendar(c *fiber.Ctx) error {
	loc := c.Query("location")
	if loc == "" {
		return response.Required("location")
	}
	items, err := choiceOfQuery(c)
	if err != nil {
		return err
	}
	first, last, err := h.Reservations.Window(loc)
	if err != nil {
		return err
	}
	from, to := first, last
	if v := c.Query("from"); v != "" {
		if from, err = booking.ParseDate(v); err != nil {
			return response.InvalidDate("from")
		}
	}
	if v := c.Query("to"); v != "" {
		if to, err = booking.ParseDate(v); err != nil {
			return response.InvalidDate("to")
		}
	}
	if to.Before(from) {
		return response.Invalid("to", "must not be before from", "darf nicht vor from liegen")
	}
	cal, err := h.Reservations.Calendar(c.UserContext(), loc, items, from, to)
	if err != nil {
		return err
	}
	return response.OK(c, newCalendarJSON(cal))
}
