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
	if err := checkDesk(req.Desk); err != nil {
		return err
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
	id, err := ticketParam(c)
	if err != nil {
		return err
	}
	t, err := h.Queue.Finish(c.UserContext(), c.Params("id"), id, req.State)
	if err != nil {
		return err
	}
	return response.OK(c, newTicketJSON(t))
}

// checkDesk refuses a desk name the call display could not show.
func checkDesk(desk string) error {
	if !booking.ValidDesk(desk) {
		return response.Invalid("desk", "is required: at most 20 letters, digits, spaces or hyphens",
			"ist erforderlich: höchstens 20 Buchstaben, Ziffern, Leerzeichen oder Bindestriche")
	}
	return nil
}

func ticketParam(c *fiber.Ctx) (int64, error) {
	id, err := c.ParamsInt("ticket")
	if err != nil || id <= 0 {
		return 0, booking.ErrTicketNotFound
	}
	return int64(id), nil
}

// recall calls a called ticket once more to the waiting room.
func (h *Handler) recall(c *fiber.Ctx) error {
	var req recallRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if err := checkDesk(req.Desk); err != nil {
		return err
	}
	id, err := ticketParam(c)
	if err != nil {
		return err
	}
	t, err := h.Queue.Recall(c.UserContext(), c.Params("id"), id, req.Desk)
	if err != nil {
		return err
	}
	return response.OK(c, newTicketJSON(t))
}

// transfer sends a called ticket to another service: it keeps its number
// and its place in the line.
func (h *Handler) transfer(c *fiber.Ctx) error {
	var req transferRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if req.Service == "" {
		return response.Required("service")
	}
	id, err := ticketParam(c)
	if err != nil {
		return err
	}
	t, err := h.Queue.Transfer(c.UserContext(), c.Params("id"), id, req.Service)
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
