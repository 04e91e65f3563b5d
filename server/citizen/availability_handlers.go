package citizen

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) availability(c *fiber.Ctx) error {
	loc, svc := c.Query("location"), c.Query("service")
	if loc == "" {
		return response.Required("location")
	}
	if svc == "" {
		return response.Required("service")
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
	slots, err := h.Reservations.Availability(c.UserContext(), loc, svc, from, to)
	if err != nil {
		return err
	}
	return response.OK(c, newAvailabilityJSON(slots))
}
