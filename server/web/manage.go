package web

import (
	"errors"
	"mime"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/skip2/go-qrcode"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
)

const manageCookie = "termin_manage"

// setManageCookie keeps the manage token for one booking's pages only:
// HttpOnly, SameSite=Strict and scoped to /termin/{code}, so it never
// appears in a URL, a log line or a Referer.
func (h *Handler) setManageCookie(c *fiber.Ctx, code, token string) {
	c.Cookie(&fiber.Cookie{Name: manageCookie, Value: token, Path: "/termin/" + code, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode, Secure: h.secure(c), MaxAge: 400 * 24 * 3600})
}

type bookingData struct {
	Booking   *booking.Booking
	Location  booking.Location
	Address   string
	Calendar  bool
	Lines     []line
	Office    bool
	When      string
	Persons   int
	Bring     []string
	Payment   *payment.Payment
	Paid      string
	Refund    string
	CanCancel bool
	CanMove   bool
	Pending   bool
	Activate  bool
	Cancelled bool
	PayURL    string
	// Privacy offers the citizen's copy and deletion of their data;
	// Anonymised says the deletion (or the retention job) has happened.
	Privacy    bool
	Anonymised bool
	Retention  string
	zone       *time.Location
}

// lookup reads the booking of the route with the token of the cookie.
func (h *Handler) lookup(c *fiber.Ctx, v *view) (*bookingData, string, error) {
	code := strings.ToUpper(c.Params("code"))
	token := c.Cookies(manageCookie)
	if token == "" {
		return nil, "", booking.ErrBookingNotFound
	}
	b, err := h.Bookings.Lookup(c.UserContext(), code, token)
	if err != nil {
		return nil, token, err
	}
	loc, tz, err := h.Catalog.Location(b.LocationID)
	if err != nil {
		return nil, token, err
	}
	d := &bookingData{Booking: b, Location: *loc, Office: loc.Kind != booking.KindPool, Persons: len(b.Units),
		Pending: b.Status == booking.StatusPendingPayment, Cancelled: b.Status == booking.StatusCancelled,
		Privacy: h.Privacy != nil, Anonymised: b.AnonymisedAt != nil, zone: tz}
	items := make([]Item, 0, len(b.Items))
	for _, it := range b.Items {
		items = append(items, Item{ServiceID: it.ServiceID, Count: it.Count})
	}
	if len(items) == 0 {
		items = []Item{{ServiceID: b.ServiceID, Count: len(b.Units)}}
	}
	d.Lines = h.linesOf(loc.ID, items)
	d.Address = loc.Address.String()
	d.Calendar = h.Calendars != nil
	st := b.Start.In(tz)
	d.When = v.texts.date(st) + ", " + v.texts.clock(st) + " – " + v.texts.clock(b.End.In(tz))
	if d.Privacy {
		d.Retention = v.texts.f("data_retention", h.RetentionDays)
	}
	d.Activate = h.Activator != nil && b.Status == statusPendingActivation
	d.CanCancel = !d.Cancelled && b.Start.After(h.now())
	d.CanMove = h.Rescheduler != nil && b.Status == booking.StatusConfirmed && b.Start.After(h.now())
	for _, l := range d.Lines {
		if s := l.Service.WhatToBring.In(v.Lang); s != "" {
			d.Bring = append(d.Bring, s)
		}
	}
	if d.Office && len(d.Bring) == 0 {
		d.Bring = []string{v.texts.get("bring_default")}
	}
	if h.Payments != nil {
		if p, err := h.Payments.PaymentFor(c.UserContext(), b.ID); err == nil {
			d.Payment = p
			d.Paid = v.texts.euro(p.AmountCents)
			if d.Pending && (p.State == payment.StateCreated || p.State == payment.StateInitiated) {
				d.PayURL = p.PayURL
			}
			if p.State == payment.StateConfirmed || p.State == payment.StatePaid {
				if b.Start.Sub(h.now()) >= h.FreeCancelBefore {
					d.Refund = v.texts.f("refund_yes", d.Paid)
				} else {
					d.Refund = v.texts.f("refund_no", d.Paid, v.texts.duration(h.FreeCancelBefore))
				}
			}
		} else if !errors.Is(err, payment.ErrPaymentNotFound) {
			return nil, token, err
		}
	}
	return d, token, nil
}

// access reads the booking a manage page is about. When the citizen may
// not see it, it answers with the no-access page and d is nil; err is then
// that answer's error, as it is for any other failure.
func (h *Handler) access(c *fiber.Ctx, v *view) (d *bookingData, token string, err error) {
	d, token, err = h.lookup(c, v)
	if errors.Is(err, booking.ErrBookingNotFound) {
		return nil, "", h.noAccess(c)
	}
	if err != nil {
		return nil, "", err
	}
	return d, token, nil
}

func (h *Handler) noAccess(c *fiber.Ctx) error {
	v := h.newView(c, "no_access_title", stepNone)
	links := []link{{"/", v.texts.get("to_start")}}
	if h.Finder != nil {
		links = append([]link{{"/termin/suchen", v.texts.get("find_link")}}, links...)
	}
	return h.message(c, fiber.StatusNotFound, "no_access_title", v.texts.get("no_access"), links...)
}

// manage is the confirmation and manage page. Reached with ?t=TOKEN (the
// e-mail's link), it moves the token into the cookie and sends the
// browser on without it; a meta refresh rather than a redirect, because
// a cross-site redirect chain would not carry the SameSite=Strict cookie.
func (h *Handler) manage(c *fiber.Ctx) error {
	code := strings.ToUpper(c.Params("code"))
	if t := c.Query("t"); t != "" {
		h.setManageCookie(c, code, t)
		v := h.newView(c, "continue_booking", stepNone)
		v.D = "/termin/" + code
		v.Refresh = v.D.(string)
		return h.render(c, fiber.StatusOK, "token", v)
	}
	v := h.newView(c, "booked_title", stepDone)
	d, _, err := h.access(c, v)
	if d == nil {
		return err
	}
	switch {
	case d.Cancelled:
		v.Title, v.Steps = v.texts.get("cancelled_title"), nil
	case d.Pending:
		v.Title = v.texts.get("pending_title")
	case d.Activate:
		v.Title = v.texts.get("activate_title")
	case !d.Office:
		v.Title = v.texts.get("ticket_title")
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	v.D = d
	return h.render(c, fiber.StatusOK, "booking", v)
}

// qr is the booking's QR code as a PNG: the signed ticket payload the
// kiosk and the gate read.
func (h *Handler) qr(c *fiber.Ctx) error {
	v := h.newView(c, "booked_title", stepNone)
	d, _, err := h.access(c, v)
	if d == nil {
		return err
	}
	if d.Booking.Status != booking.StatusConfirmed {
		return h.noAccess(c)
	}
	png, err := qrcode.Encode(booking.SignTicket(h.SigningKey, booking.ClaimsOf(d.Booking)), qrcode.Medium, 288)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(png)
}

func (h *Handler) ics(c *fiber.Ctx) error {
	v := h.newView(c, "booked_title", stepNone)
	d, _, err := h.access(c, v)
	if d == nil {
		return err
	}
	if d.Booking.Status != booking.StatusConfirmed {
		return h.noAccess(c)
	}
	name, ctype, data, err := h.Calendars.CalendarFile(c.UserContext(), d.Booking.ID, v.Lang)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ctype)
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(data)
}

func (h *Handler) cancelForm(c *fiber.Ctx) error {
	v := h.newView(c, "cancel_title", stepNone)
	d, _, err := h.access(c, v)
	if d == nil {
		return err
	}
	if !d.CanCancel {
		return c.Redirect("/termin/"+d.Booking.Code, fiber.StatusSeeOther)
	}
	v.D = d
	return h.render(c, fiber.StatusOK, "cancel", v)
}

// cancel cancels behind the confirmation form: a POST with the form
// token, never a GET (mail programs fetch links).
func (h *Handler) cancel(c *fiber.Ctx) error {
	v := h.newView(c, "cancel_title", stepNone)
	d, token, err := h.access(c, v)
	if d == nil {
		return err
	}
	if !csrfOK(c) {
		v.Errors = []fieldError{{"cancel-confirm", v.texts.get("err_session")}}
		v.D = d
		return h.render(c, fiber.StatusForbidden, "cancel", v)
	}
	// A second cancel (the form sent twice) lands on the cancelled booking.
	if err := h.Bookings.Cancel(c.UserContext(), d.Booking.Code, token); err != nil &&
		!errors.Is(err, booking.ErrBookingCancelled) && !errors.Is(err, booking.ErrAlreadyCancelled) {
		return err
	}
	return c.Redirect("/termin/"+d.Booking.Code, fiber.StatusSeeOther)
}

type paymentData struct {
	State   string // paid, failed, checking
	Payment *payment.Payment
	Amount  string
	Booking string
}

// paymentResult is where the citizen lands after the payment platform:
// the state comes from our own status query, never from the redirect's
// parameters.
func (h *Handler) paymentResult(c *fiber.Ctx) error {
	if h.Payments == nil {
		return h.notFound(c)
	}
	p, status, err := h.Payments.Check(c.UserContext(), c.Params("reference"))
	if errors.Is(err, payment.ErrPaymentNotFound) || p == nil {
		return h.notFound(c)
	}
	if err != nil {
		h.Log.WarnContext(c.UserContext(), "status check on return page", "err", err)
	}
	d := paymentData{Payment: p, State: "checking"}
	key := "pay_check_title"
	switch {
	case status == booking.StatusConfirmed:
		d.State, key = "paid", "pay_paid_title"
	case status == booking.StatusCancelled || p.State == payment.StateFailed || p.State == payment.StateCancelled || p.State == payment.StateExpired:
		d.State, key = "failed", "pay_failed_title"
	}
	v := h.newView(c, key, stepNone)
	d.Amount = v.texts.euro(p.AmountCents)
	d.Booking = "/termin/" + p.BookingCode
	if d.State == "checking" {
		v.Scripts = append(v.Scripts, "poll.js")
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	v.D = d
	return h.render(c, fiber.StatusOK, "payment", v)
}

// activateForm is the e-mail's activation link: it shows the button and
// changes nothing (mail programs fetch links). With ?t= the token moves
// into the booking's cookie like on the manage page.
func (h *Handler) activateForm(c *fiber.Ctx) error {
	code := strings.ToUpper(c.Params("code"))
	if t := c.Query("t"); t != "" {
		h.setManageCookie(c, code, t)
		c.Request().Header.SetCookie(manageCookie, t)
	}
	v := h.newView(c, "activate_title", stepNone)
	d, _, err := h.access(c, v)
	if d == nil {
		return err
	}
	if !d.Activate {
		return c.Redirect("/termin/"+d.Booking.Code, fiber.StatusSeeOther)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	v.D = d
	return h.render(c, fiber.StatusOK, "activate", v)
}

// activate confirms the booking: a POST with the form token.
func (h *Handler) activate(c *fiber.Ctx) error {
	v := h.newView(c, "activate_title", stepNone)
	d, token, err := h.access(c, v)
	if d == nil {
		return err
	}
	if !csrfOK(c) {
		v.Errors = []fieldError{{"activate-confirm", v.texts.get("err_session")}}
		v.D = d
		return h.render(c, fiber.StatusForbidden, "activate", v)
	}
	if _, err := h.Activator.Activate(c.UserContext(), d.Booking.Code, token); errors.Is(err, ErrNotActivatable) {
		return h.message(c, fiber.StatusConflict, "activate_title", v.texts.get("activate_refused"), link{"/", v.texts.get("new_booking")})
	} else if err != nil {
		return err
	}
	return c.Redirect("/termin/"+d.Booking.Code, fiber.StatusSeeOther)
}
