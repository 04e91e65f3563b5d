package staff

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) display(c *fiber.Ctx) error {
	ts, err := h.Queue.Today(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return response.OK(c, newDisplayJSON(ts))
}

func (h *Handler) queue(c *fiber.Ctx) error {
	ts, err := h.Queue.Today(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return response.OK(c, queueJSON{Tickets: response.List(ts, newTicketJSON)})
}

func (h *Handler) callNext(c *fiber.Ctx) error {
	var req callRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if req.Desk == "" || len(req.Desk) > 20 {
		return response.Invalid("desk", "is required (at most 20 characters)", "ist erforderlich (höchstens 20 Zeichen)")
	}
	t, err := h.Queue.CallNext(c.UserContext(), c.Params("id"), req.Desk)
	if err != nil {
		return err
	}
	return response.OK(c, newTicketJSON(t))
}

func (h *Handler) finish(c *fiber.Ctx) error {
	var req finishRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	id, err := c.ParamsInt("ticket")
	if err != nil {
		return booking.ErrTicketNotFound
	}
	t, err := h.Queue.Finish(c.UserContext(), c.Params("id"), int64(id), req.State)
	if err != nil {
		return err
	}
	return response.OK(c, newTicketJSON(t))
}

// flaggedAdmissions lists today's offline admissions of tickets that were
// not valid, for staff to follow up.
func (h *Handler) flaggedAdmissions(c *fiber.Ctx) error {
	if h.Entrances == nil {
		return response.OK(c, flaggedJSON{Admissions: []admissionJSON{}})
	}
	rs, err := h.Entrances.FlaggedToday(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return response.OK(c, flaggedJSON{Admissions: response.List(rs, newAdmissionJSON)})
}
