package web

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/fairness"
	"github.com/digitale-verwaltung/termin/server/response"
)

// daysShown is how many days one page of the day list spans.
const daysShown = 28

type locationEntry struct {
	Location booking.Location
	Services []booking.Service
}

func (h *Handler) index(c *fiber.Ctx) error {
	var locs []locationEntry
	for _, l := range h.Catalog.Locations() {
		svcs, err := h.Catalog.Services(l.ID)
		if err != nil {
			return err
		}
		locs = append(locs, locationEntry{l, svcs})
	}
	v := h.newView(c, "index_title", stepNone)
	v.D = locs
	return h.render(c, fiber.StatusOK, "index", v)
}

func (h *Handler) accessibility(c *fiber.Ctx) error {
	return h.render(c, fiber.StatusOK, "accessibility", h.newView(c, "a11y_title", stepNone))
}

// location finds the route's location; a path under /api/ that no API
// route took is left to the JSON error answer.
func (h *Handler) location(c *fiber.Ctx) (*booking.Location, *time.Location, error) {
	if strings.HasPrefix(c.Path(), "/api/") {
		return nil, nil, response.ErrNotFound
	}
	return h.Catalog.Location(c.Params("location"))
}

type choiceData struct {
	Choice *choice
	Multi  bool
	// RoomURL links the waiting room while one is active and this
	// browser has no admission.
	RoomURL string
}

// choice is the first step: services at an office, ticket counts at a pool.
func (h *Handler) choice(c *fiber.Ctx) error {
	loc, _, err := h.location(c)
	if errors.Is(err, booking.ErrLocationUnknown) {
		return h.notFound(c)
	}
	if err != nil {
		return err
	}
	pre := c.Params("service")
	if pre != "" {
		if _, err := h.service(loc.ID, pre); err != nil {
			return h.notFound(c)
		}
	}
	v := h.newView(c, "index_title", stepChoice)
	ch, _, err := h.parseChoice(c, v.texts, loc, pre)
	if err != nil {
		return err
	}
	v.Title = loc.Name
	v.D = choiceData{ch, h.MultiChoice, h.roomLink(c, loc.ID)}
	return h.render(c, fiber.StatusOK, "choice", v)
}

func (h *Handler) service(locationID, id string) (*booking.Service, error) {
	svcs, err := h.Catalog.Services(locationID)
	if err != nil {
		return nil, err
	}
	for i := range svcs {
		if svcs[i].ID == id {
			return &svcs[i], nil
		}
	}
	return nil, booking.ErrServiceUnknown
}

// choiceOrForm reads the choice of a later step; a choice with errors
// shows the choice form again with them.
func (h *Handler) choiceOrForm(c *fiber.Ctx, v *view) (*choice, bool, error) {
	loc, _, err := h.location(c)
	if errors.Is(err, booking.ErrLocationUnknown) {
		return nil, true, h.notFound(c)
	}
	if err != nil {
		return nil, true, err
	}
	ch, errs, err := h.parseChoice(c, v.texts, loc, "")
	if err != nil {
		return nil, true, err
	}
	if len(errs) > 0 {
		return nil, true, h.choiceErrors(c, ch, errs)
	}
	return ch, false, nil
}

func (h *Handler) choiceErrors(c *fiber.Ctx, ch *choice, errs []fieldError) error {
	v := h.newView(c, "index_title", stepChoice)
	v.Title = ch.Location.Name
	v.Errors = errs
	v.D = choiceData{ch, h.MultiChoice, h.roomLink(c, ch.Location.ID)}
	return h.render(c, fiber.StatusUnprocessableEntity, "choice", v)
}

type daysData struct {
	Choice         *choice
	Days           []dayEntry
	Next           *timeEntry
	NextDayURL     string
	Earlier, Later string
	// Release says when the next days open ("" without a release
	// schedule or when the days shown end before).
	Release string
}

type dayEntry struct {
	Text, URL string
	Free      int
}

type timeEntry struct {
	Value, Text, Day, ID string
	Free                 int
	Checked              bool
}

func (h *Handler) days(c *fiber.Ctx) error {
	v := h.newView(c, "choose_day", stepDay)
	ch, done, err := h.choiceOrForm(c, v)
	if done {
		return err
	}
	_, tz, _ := h.Catalog.Location(ch.Location.ID)
	today := booking.DateOf(h.now().In(tz))
	from := today
	if d, err := booking.ParseDate(c.Query("von")); err == nil && !d.Before(today) {
		from = d
	}
	to := from.AddDays(daysShown - 1)
	days, next, err := h.Reservations.Calendar(c.UserContext(), ch.Location.ID, ch.Items, from, to)
	if errors.Is(err, ErrChoiceUnsupported) || errors.Is(err, booking.ErrUnitsInvalid) {
		return h.choiceErrors(c, ch, []fieldError{{ch.Lines[0].Field, v.texts.get("err_combination")}})
	}
	if err != nil {
		return err
	}
	d := daysData{Choice: ch, Release: h.releaseNotice(v, ch.Location, to)}
	for _, day := range days {
		if day.Free == 0 {
			continue
		}
		d.Days = append(d.Days, dayEntry{Text: v.texts.date(day.Day.Midnight(tz)), Free: day.Free,
			URL: "/" + ch.Location.ID + "/zeit?" + ch.Query + "&tag=" + day.Day.String()})
	}
	if next != nil {
		st := next.Start.In(tz)
		d.Next = &timeEntry{Value: next.Start.UTC().Format(time.RFC3339), Text: v.texts.date(st) + ", " + v.texts.clock(st)}
		d.NextDayURL = "/" + ch.Location.ID + "/zeit?" + ch.Query + "&tag=" + booking.DateOf(st).String()
	}
	if _, later, err := h.Reservations.Calendar(c.UserContext(), ch.Location.ID, ch.Items, to.AddDays(1), to.AddDays(1)); err == nil && later != nil {
		d.Later = "/" + ch.Location.ID + "/tag?" + ch.Query + "&von=" + to.AddDays(1).String()
	}
	if today.Before(from) {
		earlier := from.AddDays(-daysShown)
		if earlier.Before(today) {
			earlier = today
		}
		d.Earlier = "/" + ch.Location.ID + "/tag?" + ch.Query + "&von=" + earlier.String()
	}
	v.D = d
	return h.render(c, fiber.StatusOK, "days", v)
}

type timesData struct {
	Choice  *choice
	DayText string
	Day     string
	Times   []timeEntry
	DaysURL string
	Pow     *powData
	// Release says when the day opens, while it is not released yet.
	Release string
}

type powData struct {
	Challenge  string
	Difficulty int
}

func (h *Handler) times(c *fiber.Ctx) error {
	v := h.newView(c, "choose_time", stepTime)
	ch, done, err := h.choiceOrForm(c, v)
	if done {
		return err
	}
	day, err := booking.ParseDate(c.Query("tag"))
	if err != nil {
		return c.Redirect("/"+ch.Location.ID+"/tag?"+ch.Query, fiber.StatusSeeOther)
	}
	return h.renderTimes(c, v, ch, day, "", fiber.StatusOK)
}

// renderTimes shows the free times of a day; with an error it is the
// answer to a failed hold, and it then also lists the next free times
// when the day has none left.
func (h *Handler) renderTimes(c *fiber.Ctx, v *view, ch *choice, day booking.Date, checked string, status int) error {
	_, tz, _ := h.Catalog.Location(ch.Location.ID)
	slots, err := h.Reservations.Times(c.UserContext(), ch.Location.ID, ch.Items, day)
	if errors.Is(err, ErrChoiceUnsupported) || errors.Is(err, booking.ErrUnitsInvalid) {
		return h.choiceErrors(c, ch, []fieldError{{ch.Lines[0].Field, v.texts.get("err_combination")}})
	}
	if err != nil {
		return err
	}
	if len(slots) == 0 && len(v.Errors) > 0 {
		// The day is full now: offer the next free times of the same choice.
		_, next, err := h.Reservations.Calendar(c.UserContext(), ch.Location.ID, ch.Items, day, day)
		if err == nil && next != nil {
			day = booking.DateOf(next.Start.In(tz))
			slots, err = h.Reservations.Times(c.UserContext(), ch.Location.ID, ch.Items, day)
			if err != nil {
				return err
			}
		}
	}
	d := timesData{Choice: ch, DayText: v.texts.date(day.Midnight(tz)), Day: day.String(), DaysURL: "/" + ch.Location.ID + "/tag?" + ch.Query,
		Release: h.dayNotReleased(v, ch.Location, day)}
	for _, s := range slots {
		val := s.Start.UTC().Format(time.RFC3339)
		st := s.Start.In(tz)
		d.Times = append(d.Times, timeEntry{Value: val, Text: v.texts.clock(st), Free: s.Free, Checked: val == checked,
			ID: "t-" + st.Format("1504")})
	}
	if len(d.Times) > 0 && len(v.Errors) > 0 && v.Errors[0].Field == "" {
		v.Errors[0].Field = d.Times[0].ID
	}
	if d.Pow == nil {
		if p, ok := c.Locals("pow").(*powData); ok {
			d.Pow = p
			v.Scripts = append(v.Scripts, "pow.js", "powform.js")
		}
	}
	v.D = d
	return h.render(c, status, "times", v)
}

// hold places the hold for the chosen time (a POST: it changes state),
// after the rate limit and, on busy days, the proof of work.
func (h *Handler) hold(c *fiber.Ctx) error {
	v := h.newView(c, "choose_time", stepTime)
	ch, done, err := h.choiceOrForm(c, v)
	if done {
		return err
	}
	_, tz, _ := h.Catalog.Location(ch.Location.ID)
	dayStr := c.FormValue("tag")
	day, dayErr := booking.ParseDate(dayStr)
	start, startErr := time.Parse(time.RFC3339, c.FormValue("start"))
	if startErr == nil && dayErr != nil {
		day = booking.DateOf(start.In(tz))
	}
	if !csrfOK(c) {
		v.Errors = []fieldError{{"", v.texts.get("err_session")}}
		return h.renderTimes(c, v, ch, day, c.FormValue("start"), fiber.StatusForbidden)
	}
	if startErr != nil {
		v.Errors = []fieldError{{"", v.texts.get("err_choose_time")}}
		return h.renderTimes(c, v, ch, day, "", fiber.StatusUnprocessableEntity)
	}
	day = booking.DateOf(start.In(tz))
	ctx := c.UserContext()
	if h.Limiter != nil && h.Limiter.Enabled() {
		ok, wait, err := h.Limiter.Allow(ctx, "holds", h.ClientAddr(c))
		if err != nil {
			h.Log.WarnContext(ctx, "rate limiter unavailable; letting request through", "err", err)
		} else if !ok {
			e := response.RateLimited(wait)
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(e.RetryAfter))
			v := h.newView(c, "slow_title", stepTime)
			fields := copyFields(ch.Fields)
			fields["start"] = []string{c.FormValue("start")}
			fields["csrf"] = []string{v.CSRF}
			v.D = messageData{Text: v.texts.f("slow_text", e.RetryAfter), Retry: &retryForm{Action: "/" + ch.Location.ID + "/reservieren", Fields: fields, Label: v.texts.get("busy_retry")},
				Links: []link{{"/" + ch.Location.ID + "/zeit?" + ch.Query + "&tag=" + day.String(), v.texts.get("back")}}}
			return h.render(c, fiber.StatusTooManyRequests, "message", v)
		}
	}
	if h.Challenges != nil {
		need, err := h.Challenges.Required(ctx, ch.Location.ID, day.String())
		if err != nil {
			h.Log.WarnContext(ctx, "challenge counter unavailable", "err", err)
		}
		if need {
			chal, sol := c.FormValue("pow_challenge"), c.FormValue("pow_solution")
			err := fairness.ErrChallengeRequired
			if chal != "" && sol != "" {
				err = h.Challenges.Verify(ctx, ch.Location.ID, day.String(), chal, sol)
			}
			if err != nil {
				if !errors.Is(err, fairness.ErrChallengeRequired) && !errors.Is(err, fairness.ErrChallengeInvalid) {
					return err
				}
				is := h.Challenges.Issue(ch.Location.ID)
				c.Locals("pow", &powData{Challenge: is.Challenge, Difficulty: is.Difficulty})
				return h.renderTimes(c, v, ch, day, c.FormValue("start"), fiber.StatusPreconditionRequired)
			}
		}
	}
	adm, done, err := h.roomGate(c, ch.Location.ID)
	if done {
		return err
	}
	hold, wait, err := h.placeHold(c, ch, start)
	if hold == nil && adm != nil {
		// No hold (refused, or slowed down): it does not count against the admission.
		if rerr := h.Room.Refund(context.WithoutCancel(ctx), *adm); rerr != nil {
			h.Log.WarnContext(ctx, "waiting room refund", "err", rerr)
		}
	}
	if wait > 0 {
		fields := copyFields(ch.Fields)
		fields["start"] = []string{c.FormValue("start")}
		return h.releasedTooQuickly(c, wait, &retryForm{Action: "/" + ch.Location.ID + "/reservieren", Fields: fields},
			link{"/" + ch.Location.ID + "/zeit?" + ch.Query + "&tag=" + day.String(), v.texts.get("back")})
	}
	switch {
	case errors.Is(err, booking.ErrNotReleased):
		v.Errors = []fieldError{{"", h.notReleasedText(v, ch.Location, day)}}
		if v.Errors[0].Text == "" {
			v.Errors[0].Text = v.texts.get("err_slot_invalid")
		}
		return h.renderTimes(c, v, ch, day, "", fiber.StatusUnprocessableEntity)
	case errors.Is(err, booking.ErrSlotFull):
		v.Errors = []fieldError{{"", v.texts.get("err_slot_taken")}}
		return h.renderTimes(c, v, ch, day, "", fiber.StatusConflict)
	case errors.Is(err, booking.ErrSlotInvalid), errors.Is(err, booking.ErrSlotPast):
		v.Errors = []fieldError{{"", v.texts.get("err_slot_invalid")}}
		return h.renderTimes(c, v, ch, day, "", fiber.StatusUnprocessableEntity)
	case errors.Is(err, ErrChoiceUnsupported), errors.Is(err, booking.ErrUnitsInvalid):
		return h.choiceErrors(c, ch, []fieldError{{ch.Lines[0].Field, v.texts.get("err_combination")}})
	case err != nil:
		return err
	}
	if ch.Move != "" {
		return c.Redirect("/termin/"+ch.Move+"/verschieben/"+h.encodeTicket(ticketFor(hold, ch.Items)), fiber.StatusSeeOther)
	}
	return c.Redirect("/reservierung/"+h.encodeTicket(ticketFor(hold, ch.Items)), fiber.StatusSeeOther)
}

func copyFields(in map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range in {
		out[k] = append([]string(nil), v...)
	}
	return out
}
