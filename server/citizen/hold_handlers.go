package citizen

import (
	"context"
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
	items, err := choiceOf(req.Service, req.Units, req.Services, req.Tickets)
	if err != nil {
		return err
	}
	start, err := time.Parse(time.RFC3339, req.Start)
	if err != nil {
		return response.Invalid("start", "must be an RFC 3339 time", "muss eine Zeit im Format RFC 3339 sein")
	}
	_, tz, err := h.Catalog.Location(req.Location)
	if err != nil {
		return err
	}
	if err := h.requireProof(c, req.Location, booking.DateOf(start.In(tz)).String(), req.Pow); err != nil {
		return err
	}
	adm, err := h.roomGate(c, req.Location)
	if err != nil {
		return err
	}
	var hold *booking.Hold
	if req.Service != "" {
		hold, err = h.Reservations.PlaceHold(c.UserContext(), req.Location, req.Service, start, items[0].Count)
	} else {
		hold, err = h.Reservations.PlaceHoldFor(c.UserContext(), req.Location, items, start)
	}
	if err != nil {
		if adm != nil {
			// A failed hold does not count against the admission.
			if rerr := h.Room.Refund(context.WithoutCancel(c.UserContext()), *adm); rerr != nil {
				h.Log.WarnContext(c.UserContext(), "waiting room refund", "err", rerr)
			}
		}
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
