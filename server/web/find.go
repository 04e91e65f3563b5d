package web

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/response"
)

type findData struct {
	Code, Email string
	Errors      map[string]string
	Sent        bool
}

func (h *Handler) findForm(c *fiber.Ctx) error {
	v := h.newView(c, "find_title", stepNone)
	v.D = findData{Errors: map[string]string{}}
	return h.render(c, fiber.StatusOK, "find", v)
}

// find sends the manage link again. It answers the same whether or not a
// booking matches, so it tells nobody which codes exist, and it is rate
// limited like holds.
func (h *Handler) find(c *fiber.Ctx) error {
	v := h.newView(c, "find_title", stepNone)
	d := findData{Code: strings.ToUpper(strings.TrimSpace(c.FormValue("code"))), Email: strings.TrimSpace(c.FormValue("email")), Errors: map[string]string{}}
	if !validCode(d.Code) {
		v.Errors = append(v.Errors, fieldError{"code", v.texts.get("err_code")})
	}
	for _, e := range h.validateContact(Contact{Name: "-", Email: d.Email}, v.texts) {
		v.Errors = append(v.Errors, e)
	}
	if !csrfOK(c) {
		v.Errors = append(v.Errors, fieldError{"code", v.texts.get("err_session")})
	}
	if len(v.Errors) > 0 {
		for _, e := range v.Errors {
			d.Errors[e.Field] = e.Text
		}
		v.D = d
		return h.render(c, fiber.StatusUnprocessableEntity, "find", v)
	}
	ctx := c.UserContext()
	if h.Limiter != nil && h.Limiter.Enabled() {
		ok, wait, err := h.Limiter.Allow(ctx, "manage_link", h.ClientAddr(c))
		if err != nil {
			h.Log.WarnContext(ctx, "rate limiter unavailable; letting request through", "err", err)
		} else if !ok {
			e := response.RateLimited(wait)
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(e.RetryAfter))
			return h.message(c, fiber.StatusTooManyRequests, "slow_title", v.texts.f("slow_text", e.RetryAfter))
		}
	}
	if err := h.Finder.SendManageLink(ctx, d.Code, d.Email, v.Lang); err != nil && !errors.Is(err, booking.ErrBookingNotFound) {
		return err
	}
	d.Sent = true
	v.D = d
	return h.render(c, fiber.StatusOK, "find", v)
}
