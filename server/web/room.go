package web

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// WaitingRoom is the queue in front of a location's release
// (fairness.Room).
type WaitingRoom interface {
	Configured(location string) bool
	Active(ctx context.Context, location string) (fairness.RoomID, error)
	Challenge(location string) fairness.Challenge
	Join(ctx context.Context, room fairness.RoomID, session, challenge, solution string) (fairness.Entry, error)
	Status(ctx context.Context, room fairness.RoomID, session string) (fairness.Entry, error)
	Estimate(room fairness.RoomID, e fairness.Entry) time.Duration
	Admit(room fairness.RoomID, session string, e fairness.Entry) (string, fairness.Admission)
	VerifyAdmission(location, session, token string) (fairness.Admission, error)
	// Gate decides a hold: nil error when it may go ahead; the admission
	// returned (nil without a room) is refunded when the hold fails.
	Gate(ctx context.Context, location, session, token string) (*fairness.Admission, error)
	Refund(ctx context.Context, a fairness.Admission) error
	// KeepMinutes is how long a browser may stay away and keep its place.
	KeepMinutes() int
}

// admissionCookie carries the admission token; its path is the
// location's, so each location's admission goes only to its own pages.
const admissionCookie = "termin_admission"

// Why a hold was sent back to the room (the hinweis query parameter).
const (
	roomNoticeJoin    = "anstellen"
	roomNoticeExpired = "abgelaufen"
	roomNoticeUsed    = "verbraucht"
)

// Poll and refresh intervals: the script asks every 5 to 30 seconds, a
// browser without scripts reloads every half minute.
const (
	roomPoll    = 5 * time.Second
	roomPollMax = 30 * time.Second
	roomRefresh = 30
)

type roomData struct {
	LocationID, Location string
	Intro, Release       string
	Rules                []string
	Notice               string
	// State is join, waiting or admitted.
	State    string
	Pow      *powData
	Before   string
	Count    string
	Position string
	Ahead    string
	Estimate string
	Announce string
	AsOf     string
	Turn     string
	Continue string
	Self     string
	Still    bool
	Poll     int
}

// room is the waiting room's page: the join form, the place with its
// estimate, or the admission.
func (h *Handler) room(c *fiber.Ctx) error {
	return h.renderRoom(c, "", fiber.StatusOK)
}

func (h *Handler) renderRoom(c *fiber.Ctx, errText string, status int) error {
	loc, tz, err := h.location(c)
	if errors.Is(err, booking.ErrLocationUnknown) {
		return h.notFound(c)
	}
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	room, err := h.Room.Active(ctx, loc.ID)
	if errors.Is(err, fairness.ErrRoomInactive) {
		return c.Redirect("/"+loc.ID, fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	session := h.browserID(c)
	v := h.newView(c, "room_title", stepNone)
	t := v.texts
	opens := room.Opens.In(tz)
	d := &roomData{LocationID: loc.ID, Location: loc.Name, Intro: t.f("room_intro", loc.Name),
		Release: t.f("room_release", t.date(opens)+", "+t.clock(opens)),
		Rules:   []string{t.get("room_rule_early"), t.get("room_rule_late"), t.f("room_rule_keep", h.Room.KeepMinutes())},
		Self:    "/" + loc.ID + "/warteraum", Continue: "/" + loc.ID, Still: c.Query("still") != ""}
	switch c.Query("hinweis") {
	case roomNoticeJoin:
		d.Notice = t.get("room_notice_join")
	case roomNoticeExpired:
		d.Notice = t.get("room_notice_expired")
	case roomNoticeUsed:
		d.Notice = t.get("room_notice_used")
	}
	v.D = d
	c.Set(fiber.HeaderCacheControl, "no-store")
	v.Scripts = append(v.Scripts, "pow.js", "room.js")
	if errText != "" {
		v.Errors = []fieldError{{"room-join-button", errText}}
	}
	now := h.now()
	if tok := c.Cookies(admissionCookie); tok != "" && d.Notice == "" {
		if a, err := h.Room.VerifyAdmission(loc.ID, session, tok); err == nil && a.Opens.Equal(room.Opens) {
			d.State, d.Turn = "admitted", t.f("room_turn", t.clock(a.Expires.In(tz)))
			return h.render(c, status, "room", v)
		}
	}
	e, err := h.Room.Status(ctx, room, session)
	switch {
	case errors.Is(err, fairness.ErrNotInRoom):
		ch := h.Room.Challenge(loc.ID)
		d.State, d.Pow = "join", &powData{Challenge: ch.Challenge, Difficulty: ch.Difficulty}
		return h.render(c, status, "room", v)
	case err != nil:
		return err
	}
	if e.Admitted {
		tok, a := h.Room.Admit(room, session, e)
		if a.Expires.After(now) {
			c.Cookie(&fiber.Cookie{Name: admissionCookie, Value: tok, Path: "/" + loc.ID, Expires: a.Expires, HTTPOnly: true,
				SameSite: fiber.CookieSameSiteLaxMode, Secure: c.Protocol() == "https"})
			d.State, d.Turn = "admitted", t.f("room_turn", t.clock(a.Expires.In(tz)))
			return h.render(c, status, "room", v)
		}
		// The turn came and went unused: the browser may queue again.
		ch := h.Room.Challenge(loc.ID)
		d.State, d.Notice, d.Pow = "join", t.get("room_notice_expired"), &powData{Challenge: ch.Challenge, Difficulty: ch.Difficulty}
		return h.render(c, status, "room", v)
	}
	d.State = "waiting"
	est := h.Room.Estimate(room, e)
	mins := int(math.Ceil(est.Minutes()))
	if e.Ahead < 0 {
		d.Before = t.f("room_before", t.clock(opens))
		d.Count = t.f("room_before_count", e.Waiting)
	} else {
		d.Position = t.f("room_position", e.Ahead+1)
		switch e.Ahead {
		case 0:
			d.Ahead = t.get("room_ahead_0")
		case 1:
			d.Ahead = t.get("room_ahead_1")
		default:
			d.Ahead = t.f("room_ahead_n", e.Ahead)
		}
		d.Announce = t.f("room_announce", e.Ahead+1, mins)
		if mins <= 1 {
			d.Announce = t.f("room_announce_soon", e.Ahead+1)
		}
	}
	d.Estimate = t.f("room_estimate", mins)
	if mins <= 1 {
		d.Estimate = t.get("room_estimate_soon")
	}
	d.AsOf = t.f("room_as_of", t.clock(now.In(tz)))
	if d.Still {
		d.AsOf = t.f("room_as_of_still", t.clock(now.In(tz)))
	} else {
		v.RefreshAfter = roomRefresh
		// A tenth of the wait, between 5 and 30 seconds: thousands of
		// open pages asking every second would be a rush of their own.
		d.Poll = int(min(roomPollMax, max(roomPoll, est/10)).Milliseconds())
	}
	return h.render(c, status, "room", v)
}

// joinRoom takes a place in the room for this browser (a POST: it costs
// the solved proof of work).
func (h *Handler) joinRoom(c *fiber.Ctx) error {
	loc, _, err := h.location(c)
	if errors.Is(err, booking.ErrLocationUnknown) {
		return h.notFound(c)
	}
	if err != nil {
		return err
	}
	v := h.newView(c, "room_title", stepNone)
	if !csrfOK(c) {
		return h.renderRoom(c, v.texts.get("err_session"), fiber.StatusForbidden)
	}
	ctx := c.UserContext()
	room, err := h.Room.Active(ctx, loc.ID)
	if errors.Is(err, fairness.ErrRoomInactive) {
		return c.Redirect("/"+loc.ID, fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	_, err = h.Room.Join(ctx, room, h.browserID(c), c.FormValue("pow_challenge"), c.FormValue("pow_solution"))
	if errors.Is(err, fairness.ErrChallengeRequired) || errors.Is(err, fairness.ErrChallengeInvalid) {
		return h.renderRoom(c, v.texts.get("room_err_pow"), fiber.StatusPreconditionRequired)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/"+loc.ID+"/warteraum", fiber.StatusSeeOther)
}

// roomGate lets a hold through when no room is active at the location or
// the browser's admission is valid; otherwise it answers with the way
// back to the room. done reports that it answered.
func (h *Handler) roomGate(c *fiber.Ctx, location string) (adm *fairness.Admission, done bool, err error) {
	if h.Room == nil || !h.Room.Configured(location) {
		return nil, false, nil
	}
	a, err := h.Room.Gate(c.UserContext(), location, h.browserID(c), c.Cookies(admissionCookie))
	notice := ""
	switch {
	case errors.Is(err, fairness.ErrAdmissionRequired):
		notice = roomNoticeJoin
	case errors.Is(err, fairness.ErrAdmissionInvalid):
		notice = roomNoticeExpired
	case errors.Is(err, fairness.ErrAdmissionUsed):
		notice = roomNoticeUsed
	case err != nil:
		return nil, true, err
	default:
		return a, false, nil
	}
	c.Cookie(&fiber.Cookie{Name: admissionCookie, Path: "/" + location, MaxAge: -1, Expires: time.Unix(0, 0)})
	return nil, true, c.Redirect("/"+location+"/warteraum?hinweis="+notice, fiber.StatusSeeOther)
}

// roomLink is the waiting room's address while one is active at the
// location and this browser has no admission there; empty otherwise.
func (h *Handler) roomLink(c *fiber.Ctx, location string) string {
	if h.Room == nil || !h.Room.Configured(location) {
		return ""
	}
	if _, err := h.Room.Active(c.UserContext(), location); err != nil {
		return ""
	}
	if _, err := h.Room.VerifyAdmission(location, h.browserID(c), c.Cookies(admissionCookie)); err == nil {
		return ""
	}
	return "/" + location + "/warteraum"
}
