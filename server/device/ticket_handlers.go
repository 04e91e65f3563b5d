package device

import (
	"math"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

// newTicketJSON maps a queue ticket, with the names of its location and
// service for the print.
func (h *Handler) newTicketJSON(t *booking.QueueTicket) ticketJSON {
	out := ticketJSON{ID: t.ID, Number: t.Number, Location: t.LocationID, Ahead: t.Ahead,
		EstimatedWaitMinutes: int(math.Ceil(t.EstimatedWait.Minutes())), CreatedAt: t.CreatedAt}
	if l, _, err := h.Catalog.Location(t.LocationID); err == nil {
		out.LocationName = l.Name
	}
	if t.ServiceID != nil {
		out.Service = *t.ServiceID
		if s, err := h.Catalog.Service(t.LocationID, *t.ServiceID); err == nil {
			out.ServiceName = s.Name
		}
	}
	return out
}

func (h *Handler) walkIn(c *fiber.Ctx) error {
	var req walkInRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	t, err := h.Queue.WalkIn(c.UserContext(), auth.DeviceOf(c).LocationID, req.Service)
	if err != nil {
		return err
	}
	return response.Created(c, h.newTicketJSON(t))
}

func (h *Handler) checkIn(c *fiber.Ctx) error {
	var req checkInRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	code := req.Code
	if req.QR != "" {
		claims, err := booking.VerifyTicket(h.PublicKey, req.QR)
		if err != nil {
			return err
		}
		code = claims.Code
	}
	if code == "" {
		return response.Invalid("qr", "or code is required", "oder code ist erforderlich")
	}
	ctx := c.UserContext()
	t, err := h.Queue.CheckIn(ctx, auth.DeviceOf(c).LocationID, code)
	if err != nil {
		return err
	}
	out := h.newTicketJSON(t)
	if t.BookingID != nil {
		// The ticket prints without the time when it cannot be read.
		if start, err := h.Queue.AppointmentStart(ctx, *t.BookingID); err == nil {
			s := start.UTC().Format(time.RFC3339)
			out.Appointment = &s
		}
	}
	return response.Created(c, out)
}
