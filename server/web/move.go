package web

import (
	"errors"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
)

// moveStart sends the citizen to the day list for the same choice, with
// the booking to move carried along.
func (h *Handler) moveStart(c *fiber.Ctx) error {
	v := h.newView(c, "move_title", stepNone)
	d, _, err := h.access(c, v)
	if d == nil {
		return err
	}
	if !d.CanMove {
		return c.Redirect("/termin/"+d.Booking.Code, fiber.StatusSeeOther)
	}
	q := url.Values{"umbuchen": {d.Booking.Code}}
	for _, l := range d.Lines {
		if d.Office {
			q.Add("s", l.Service.ID)
		} else {
			q.Set(countField(l.Service.ID), strconv.Itoa(l.Count))
		}
	}
	return c.Redirect("/"+d.Location.ID+"/tag?"+q.Encode(), fiber.StatusSeeOther)
}

type moveData struct {
	Booking *bookingData
	Hold    *holdData
}

// moveReview shows the old and the new time before the move.
func (h *Handler) moveReview(c *fiber.Ctx) error {
	v := h.newView(c, "move_title", stepReview)
	d, _, err := h.access(c, v)
	if d == nil {
		return err
	}
	hd, _, err := h.holdView(c, v)
	if err != nil {
		return h.ticketGone(c)
	}
	v.D = moveData{d, hd}
	return h.render(c, fiber.StatusOK, "move", v)
}

// move books the held time and releases the old one (a POST with the
// form token).
func (h *Handler) move(c *fiber.Ctx) error {
	v := h.newView(c, "move_title", stepReview)
	d, token, err := h.access(c, v)
	if d == nil {
		return err
	}
	hd, t, err := h.holdView(c, v)
	if err != nil {
		return h.ticketGone(c)
	}
	if !csrfOK(c) {
		v.Errors = []fieldError{{"move-confirm", v.texts.get("err_session")}}
		v.D = moveData{d, hd}
		return h.render(c, fiber.StatusForbidden, "move", v)
	}
	_, err = h.Rescheduler.Reschedule(c.UserContext(), d.Booking.Code, token, t.Hold)
	switch {
	case errors.Is(err, booking.ErrHoldExpired), errors.Is(err, booking.ErrHoldNotFound), errors.Is(err, booking.ErrHoldUsed):
		return h.holdLost(c, t)
	case errors.Is(err, ErrNotReschedulable):
		return h.message(c, fiber.StatusConflict, "move_title", v.texts.get("move_refused"), link{"/termin/" + d.Booking.Code, v.texts.get("to_booking")})
	case err != nil:
		return err
	}
	return c.Redirect("/termin/"+d.Booking.Code, fiber.StatusSeeOther)
}
