package citizen

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

// activateBooking is the double opt-in: the button behind the mail's
// link posts here. Activating an active booking again is fine.
func (h *Handler) activateBooking(c *fiber.Ctx) error {
	b, err := h.Bookings.Activate(c.UserContext(), c.Params("code"), auth.ManageTokenOf(c))
	if err != nil {
		return err
	}
	return response.OK(c, newBookingJSON(b, h.ticketSigner()))
}

// rescheduleBooking moves a booking to the time of a new hold of the same
// choice; code and manage token stay.
func (h *Handler) rescheduleBooking(c *fiber.Ctx) error {
	var req rescheduleRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if req.Hold == "" {
		return response.Required("hold")
	}
	b, err := h.Bookings.Reschedule(c.UserContext(), c.Params("code"), auth.ManageTokenOf(c), req.Hold)
	if err != nil {
		return err
	}
	return response.OK(c, newBookingJSON(b, h.ticketSigner()))
}

// sendManageLink is "find my booking": it mails the manage link when code
// and e-mail address belong to one booking, and answers 202 either way,
// so the answer never tells whether a booking exists.
func (h *Handler) sendManageLink(c *fiber.Ctx) error {
	var req manageLinkRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if req.Code == "" {
		return response.Required("code")
	}
	if req.Email == "" {
		return response.Required("email")
	}
	switch req.Lang {
	case "", booking.LangDE, booking.LangEN:
	default:
		return booking.ErrLangInvalid
	}
	err := h.Bookings.SendManageLink(c.UserContext(), req.Code, req.Email, req.Lang)
	if err != nil && !errors.Is(err, booking.ErrBookingNotFound) {
		return err
	}
	return response.Accepted(c, fiber.Map{"status": "accepted"})
}
