package web

import (
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/response"
)

type holdData struct {
	Ticket   string
	Location booking.Location
	Lines    []line
	Office   bool
	When     string
	Until    string
	Expires  int64
	Minutes  int
	Fee      int64
	FeeText  string
	Online   bool
	Contact  Contact
	Phone    bool
	Errors   map[string]string
	TimesURL string
	DaysURL  string
}

// holdView decodes the route's hold ticket into what the contact and
// review pages show.
func (h *Handler) holdView(c *fiber.Ctx, v *view) (*holdData, holdTicket, error) {
	t, err := h.decodeTicket(c.Params("ticket"))
	if err != nil {
		return nil, t, err
	}
	loc, tz, err := h.Catalog.Location(t.Location)
	if err != nil {
		return nil, t, errTicketInvalid
	}
	d := &holdData{Ticket: c.Params("ticket"), Location: *loc, Lines: h.linesOf(loc.ID, t.Items), Office: loc.Kind != booking.KindPool,
		Expires: t.Expires, Phone: h.PhoneField, Errors: map[string]string{}}
	st := t.start().In(tz)
	d.When = v.texts.date(st) + ", " + v.texts.clock(st) + " – " + v.texts.clock(t.end().In(tz))
	d.Until = v.texts.clock(t.expires().In(tz))
	d.Minutes = int(t.end().Sub(t.start()).Minutes())
	q := ""
	for _, l := range d.Lines {
		d.Fee += l.Service.FeeCents * int64(l.Count)
		d.Online = d.Online || l.Service.Payment == booking.PayOnline
		if d.Office {
			q += "&s=" + l.Service.ID
		} else {
			q += "&" + countField(l.Service.ID) + "=" + strconv.Itoa(l.Count)
		}
	}
	d.Online = d.Online && d.Fee > 0 && h.Payments != nil
	d.FeeText = v.texts.euro(d.Fee)
	q = strings.TrimPrefix(q, "&")
	d.DaysURL = "/" + loc.ID + "/tag?" + q
	d.TimesURL = "/" + loc.ID + "/zeit?" + q + "&tag=" + booking.DateOf(st).String()
	v.Scripts = append(v.Scripts, "countdown.js")
	return d, t, nil
}

func (h *Handler) ticketGone(c *fiber.Ctx) error {
	v := h.newView(c, "not_found_title", stepNone)
	return h.message(c, fiber.StatusNotFound, "not_found_title", v.texts.get("err_hold_expired"), link{"/", v.texts.get("new_booking")})
}

func (h *Handler) contactForm(c *fiber.Ctx) error {
	v := h.newView(c, "contact_title", stepContact)
	d, _, err := h.holdView(c, v)
	if err != nil {
		return h.ticketGone(c)
	}
	v.D = d
	return h.render(c, fiber.StatusOK, "contact", v)
}

func readContact(c *fiber.Ctx, l string) Contact {
	return Contact{Name: strings.TrimSpace(c.FormValue("name")), Email: strings.TrimSpace(c.FormValue("email")),
		Phone: strings.TrimSpace(c.FormValue("phone")), Lang: l}
}

// validateContact checks the fields like the booking core does, so the
// citizen hears of every mistake at once, next to its field.
func (h *Handler) validateContact(ct Contact, t texts) []fieldError {
	var errs []fieldError
	if ct.Name == "" || utf8.RuneCountInString(ct.Name) > 200 {
		errs = append(errs, fieldError{"name", t.get("err_name")})
	}
	if a, err := mail.ParseAddress(ct.Email); err != nil || a.Address != ct.Email || len(ct.Email) > 254 || !strings.Contains(ct.Email[strings.LastIndexByte(ct.Email, '@')+1:], ".") {
		errs = append(errs, fieldError{"email", t.get("err_email")})
	}
	if h.PhoneField && ct.Phone != "" && !booking.ValidPhone(strings.TrimSpace(ct.Phone)) {
		errs = append(errs, fieldError{"phone", t.get("err_phone")})
	}
	return errs
}

// review checks the contact form and shows everything once more; with
// errors it shows the form again with the entries kept.
func (h *Handler) review(c *fiber.Ctx) error {
	v := h.newView(c, "review_title", stepReview)
	d, _, err := h.holdView(c, v)
	if err != nil {
		return h.ticketGone(c)
	}
	d.Contact = readContact(c, v.Lang)
	v.D = d
	if c.FormValue("edit") != "" {
		v.Title, v.Steps = v.texts.get("contact_title"), h.newView(c, "", stepContact).Steps
		return h.render(c, fiber.StatusOK, "contact", v)
	}
	errs := h.validateContact(d.Contact, v.texts)
	if !csrfOK(c) {
		errs = append([]fieldError{{"name", v.texts.get("err_session")}}, errs...)
	}
	if len(errs) > 0 {
		for _, e := range errs {
			d.Errors[e.Field] = e.Text
		}
		v.Errors = errs
		v.Title, v.Steps = v.texts.get("contact_title"), h.newView(c, "", stepContact).Steps
		return h.render(c, fiber.StatusUnprocessableEntity, "contact", v)
	}
	return h.render(c, fiber.StatusOK, "review", v)
}

// book turns the hold into a booking: counter services are confirmed at
// once, online ones go to the payment platform.
func (h *Handler) book(c *fiber.Ctx) error {
	v := h.newView(c, "review_title", stepReview)
	d, t, err := h.holdView(c, v)
	if err != nil {
		return h.ticketGone(c)
	}
	d.Contact = readContact(c, v.Lang)
	v.D = d
	errs := h.validateContact(d.Contact, v.texts)
	if !csrfOK(c) {
		errs = append(errs, fieldError{"", v.texts.get("err_session")})
	}
	if len(errs) > 0 {
		for _, e := range errs {
			d.Errors[e.Field] = e.Text
		}
		v.Errors = errs
		return h.render(c, fiber.StatusUnprocessableEntity, "review", v)
	}
	ctx := c.UserContext()
	if h.Limiter != nil && h.Limiter.Enabled() {
		ok, wait, err := h.Limiter.Allow(ctx, "bookings", h.ClientAddr(c))
		if err != nil {
			h.Log.WarnContext(ctx, "rate limiter unavailable; letting request through", "err", err)
		} else if !ok {
			e := response.RateLimited(wait)
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(e.RetryAfter))
			sv := h.newView(c, "slow_title", stepReview)
			fields := map[string][]string{"name": {d.Contact.Name}, "email": {d.Contact.Email}, "phone": {d.Contact.Phone}, "csrf": {sv.CSRF}}
			sv.D = messageData{Text: sv.texts.f("slow_text", e.RetryAfter),
				Retry: &retryForm{Action: "/reservierung/" + d.Ticket + "/buchen", Fields: fields, Label: sv.texts.get("busy_retry")}}
			return h.render(c, fiber.StatusTooManyRequests, "message", sv)
		}
	}
	var conf *booking.Confirmation
	var pay *payment.Payment
	if d.Online {
		conf, pay, err = h.Payments.BookPending(ctx, t.Hold, d.Contact)
	} else {
		conf, err = h.Bookings.Book(ctx, t.Hold, d.Contact)
	}
	switch {
	case errors.Is(err, booking.ErrHoldExpired), errors.Is(err, booking.ErrHoldNotFound), errors.Is(err, booking.ErrHoldUsed):
		return h.holdLost(c, t)
	case errors.Is(err, booking.ErrContactLimit):
		v.Errors = []fieldError{{"email", v.texts.get("err_contact_limit")}}
		d.Errors["email"] = v.Errors[0].Text
		v.Title, v.Steps = v.texts.get("contact_title"), h.newView(c, "", stepContact).Steps
		return h.render(c, fiber.StatusConflict, "contact", v)
	case errors.Is(err, booking.ErrPhoneInvalid):
		v.Errors = []fieldError{{"phone", v.texts.get("err_phone")}}
		d.Errors["phone"] = v.Errors[0].Text
		v.Title, v.Steps = v.texts.get("contact_title"), h.newView(c, "", stepContact).Steps
		return h.render(c, fiber.StatusUnprocessableEntity, "contact", v)
	case errors.Is(err, ErrChoiceUnsupported):
		return h.message(c, fiber.StatusUnprocessableEntity, "review_title", v.texts.get("err_combination"), link{d.TimesURL, v.texts.get("try_again")})
	case errors.Is(err, payment.ErrStartFailed):
		return h.message(c, fiber.StatusBadGateway, "pay_failed_title", v.texts.get("err_payment_start"), link{d.TimesURL, v.texts.get("try_again")})
	case err != nil:
		return err
	}
	h.setManageCookie(c, conf.Booking.Code, conf.ManageToken)
	if pay != nil {
		return c.Redirect(pay.PayURL, fiber.StatusSeeOther)
	}
	return c.Redirect("/termin/"+conf.Booking.Code, fiber.StatusSeeOther)
}

// holdLost answers a hold that expired or is gone: say so and offer the
// free times of the same choice.
func (h *Handler) holdLost(c *fiber.Ctx, t holdTicket) error {
	loc, tz, err := h.Catalog.Location(t.Location)
	if err != nil {
		return h.ticketGone(c)
	}
	v := h.newView(c, "choose_time", stepTime)
	svcs := map[string]bool{}
	for _, it := range t.Items {
		svcs[it.ServiceID] = true
	}
	args := c.Request().URI().QueryArgs()
	for _, it := range t.Items {
		if loc.Kind == booking.KindPool {
			args.Set(countField(it.ServiceID), strconv.Itoa(it.Count))
		} else {
			args.Add("s", it.ServiceID)
		}
	}
	if code := c.Params("code"); code != "" {
		args.Set("umbuchen", code)
	}
	c.Request().Header.SetMethod(fiber.MethodGet)
	ch, _, err := h.parseChoice(c, v.texts, loc, "")
	if err != nil {
		return err
	}
	v.Errors = []fieldError{{"", v.texts.get("err_hold_expired")}}
	return h.renderTimes(c, v, ch, booking.DateOf(t.start().In(tz)), "", fiber.StatusGone)
}

func (h *Handler) release(c *fiber.Ctx) error {
	v := h.newView(c, "choose_time", stepTime)
	d, t, err := h.holdView(c, v)
	if err != nil {
		return h.ticketGone(c)
	}
	if csrfOK(c) {
		if h.Releases != nil && h.Holders != nil {
			if placed, live, err := h.Holders.HoldPlaced(c.UserContext(), t.Hold); err == nil && live {
				if wait := h.releaseWait(c, placed); wait > 0 {
					return h.releasedTooQuickly(c, wait, nil, link{d.TimesURL, v.texts.get("back")})
				}
			}
		}
		if err := h.Reservations.ReleaseHold(c.UserContext(), t.Hold); err != nil && !errors.Is(err, booking.ErrHoldNotFound) {
			return err
		}
	}
	return c.Redirect(d.TimesURL, fiber.StatusSeeOther)
}
