package citizen

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) createHold(c *fiber.Ctx) error {
	var req holdRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if req.Location == "" {
		return response.Required("location")
	}
	if req.Service == "" {
		return response.Required("service")
	}
	start, err := time.Parse(time.RFC3339, req.Start)
	if err != nil {
		return response.Invalid("start", "must be an RFC 3339 time", "muss eine Zeit im Format RFC 3339 sein")
	}
	units := 1
	if req.Units != nil {
		units = *req.Units
	}
	_, tz, err := h.Catalog.Location(req.Location)
	if err != nil {
		return err
	}
	if err := h.requireProof(c, req.Location, booking.DateOf(start.In(tz)).String(), req.Pow); err != nil {
		return err
	}
	hold, err := h.Reservations.PlaceHold(c.UserContext(), req.Location, req.Service, start, units)
	if err != nil {
		return err
	}
	return response.Created(c, newHoldJSON(hold))
}

func (h *Handler) deleteHold(c *fiber.Ctx) error {
	if err := h.Reservations.ReleaseHold(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	return response.NoContent(c)
}
