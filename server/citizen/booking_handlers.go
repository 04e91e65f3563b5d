package citizen

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) createBooking(c *fiber.Ctx) error {
	var req bookingRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if req.Hold == "" {
		return response.Required("hold")
	}
	ctx := c.UserContext()
	svc, err := h.Reservations.HoldService(ctx, req.Hold)
	if err != nil {
		return err
	}
	contact := booking.Contact{Name: req.Name, Email: req.Email, Phone: req.Phone, Lang: req.Lang}
	if h.Payments != nil && h.Payments.Required(svc) {
		conf, pay, err := h.Payments.BookPending(ctx, req.Hold, contact, svc)
		if err != nil {
			return err
		}
		out := pendingBookingJSON{bookingJSON: newBookingJSON(conf.Booking, h.ticketSigner()), PaymentURL: pay.PayURL, Payment: NewPayment(pay)}
		out.ManageToken = conf.ManageToken
		return response.Created(c, out)
	}
	conf, err := h.Bookings.Book(ctx, req.Hold, contact)
	if err != nil {
		return err
	}
	out := newBookingJSON(conf.Booking, h.ticketSigner())
	out.ManageToken = conf.ManageToken
	return response.Created(c, out)
}

func (h *Handler) getBooking(c *fiber.Ctx) error {
	b, err := h.Bookings.Lookup(c.UserContext(), c.Params("code"), auth.ManageTokenOf(c))
	if err != nil {
		return err
	}
	return response.OK(c, newBookingJSON(b, h.ticketSigner()))
}

func (h *Handler) cancelBooking(c *fiber.Ctx) error {
	cancelled, err := h.Bookings.Cancel(c.UserContext(), c.Params("code"), auth.ManageTokenOf(c))
	if err != nil {
		return err
	}
	return response.OK(c, newCancellationJSON(cancelled))
}
