package citizen

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/fairness"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
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
	Gate(ctx context.Context, location, session, token string) (*fairness.Admission, error)
	Refund(ctx context.Context, a fairness.Admission) error
}

// AdmissionHeader carries the admission token on a hold.
const AdmissionHeader = "Admission-Token"

// session returns the caller's browser id (the pages' cookie, shared
// with holds: see holder), setting the cookie when it has none (or one
// no server could have made).
func session(c *fiber.Ctx) string {
	if id := c.Cookies(browserCookie); validBrowserID(id) {
		return id
	}
	b := make([]byte, 18)
	rand.Read(b) // never fails (crypto/rand)
	id := base64.RawURLEncoding.EncodeToString(b)
	c.Cookie(&fiber.Cookie{Name: browserCookie, Value: id, Path: "/", HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Secure: c.Protocol() == "https"})
	return id
}

type roomJSON struct {
	Location string    `json:"location"`
	Opens    time.Time `json:"opens_at"`
	// Phase is before_opening (places are drawn at the opening) or open
	// (new places join the end).
	Phase     string             `json:"phase"`
	Challenge fairness.Challenge `json:"challenge"`
	Position  *positionJSON      `json:"position,omitempty"`
}

type positionJSON struct {
	State      string     `json:"state"`
	Arrival    int64      `json:"arrival"`
	Early      bool       `json:"early"`
	JoinedAt   time.Time  `json:"joined_at"`
	Ahead      *int64     `json:"ahead,omitempty"`
	Waiting    *int64     `json:"waiting,omitempty"`
	Estimate   *int       `json:"estimated_wait_seconds,omitempty"`
	RetryAfter *int       `json:"retry_after_seconds,omitempty"`
	Number     int64      `json:"admission_number,omitempty"`
	AdmittedAt *time.Time `json:"admitted_at,omitempty"`
	Token      string     `json:"admission_token,omitempty"`
	Expires    *time.Time `json:"admission_expires_at,omitempty"`
}

func (h *Handler) activeRoom(c *fiber.Ctx) (fairness.RoomID, error) {
	loc := c.Params("location")
	if _, _, err := h.Catalog.Location(loc); err != nil {
		return fairness.RoomID{}, err
	}
	if h.Room == nil {
		return fairness.RoomID{}, fairness.ErrRoomInactive
	}
	return h.Room.Active(c.UserContext(), loc)
}

func phase(room fairness.RoomID, now time.Time) string {
	if now.Before(room.Opens) {
		return "before_opening"
	}
	return "open"
}

// getRoom describes the active room and gives a challenge to join it.
func (h *Handler) getRoom(c *fiber.Ctx) error {
	room, err := h.activeRoom(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	out := roomJSON{Location: room.Location, Opens: room.Opens, Phase: phase(room, h.now()), Challenge: h.Room.Challenge(room.Location)}
	if id := c.Cookies(browserCookie); validBrowserID(id) {
		if e, err := h.Room.Status(c.UserContext(), room, id); err == nil {
			p := h.position(c, room, id, e)
			out.Position = &p
		}
	}
	return response.OK(c, out)
}

type joinRequest struct {
	Pow *powJSON `json:"pow"`
}

// joinRoom takes a place for the caller's browser; it costs a solved
// challenge from getRoom unless the browser already has a place.
func (h *Handler) joinRoom(c *fiber.Ctx) error {
	var req joinRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	room, err := h.activeRoom(c)
	if err != nil {
		return err
	}
	var ch, sol string
	if req.Pow != nil {
		ch, sol = req.Pow.Challenge, req.Pow.Solution
	}
	id := session(c)
	e, err := h.Room.Join(c.UserContext(), room, id, ch, sol)
	if err != nil {
		return err
	}
	c.Status(fiber.StatusCreated)
	return c.JSON(h.position(c, room, id, e))
}

// getPosition is the caller's place; once admitted it carries the token.
func (h *Handler) getPosition(c *fiber.Ctx) error {
	room, err := h.activeRoom(c)
	if err != nil {
		return err
	}
	id := c.Cookies(browserCookie)
	if !validBrowserID(id) {
		return fairness.ErrNotInRoom
	}
	e, err := h.Room.Status(c.UserContext(), room, id)
	if err != nil {
		return err
	}
	return response.OK(c, h.position(c, room, id, e))
}

func (h *Handler) position(c *fiber.Ctx, room fairness.RoomID, id string, e fairness.Entry) positionJSON {
	c.Set(fiber.HeaderCacheControl, "no-store")
	p := positionJSON{State: "waiting", Arrival: e.Arrival, Early: e.Early, JoinedAt: e.JoinedAt}
	if e.Admitted {
		tok, a := h.Room.Admit(room, id, e)
		at := e.AdmittedAt
		p.State, p.Number, p.AdmittedAt, p.Expires = "admitted", e.Number, &at, &a.Expires
		if a.Expires.After(h.now()) {
			p.Token = tok
		} else {
			// The turn came and went unused: POST again to queue anew.
			p.State = "expired"
		}
		return p
	}
	if e.Ahead >= 0 {
		p.Ahead = &e.Ahead
	}
	p.Waiting = &e.Waiting
	est := int(h.Room.Estimate(room, e).Seconds())
	// Ask again after a tenth of the wait, between 2 and 30 seconds: the
	// room admits many at once, and a thousand waiting browsers asking
	// every second would be a rush of their own.
	retry := min(30, max(2, est/10))
	p.Estimate, p.RetryAfter = &est, &retry
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retry))
	return p
}

// roomGate lets a hold through when no room is active at the location or
// the Admission-Token header holds a valid admission of the caller's
// browser. The admission returned is refunded when the hold fails.
func (h *Handler) roomGate(c *fiber.Ctx, location string) (*fairness.Admission, error) {
	if h.Room == nil || !h.Room.Configured(location) {
		return nil, nil
	}
	a, err := h.Room.Gate(c.UserContext(), location, c.Cookies(browserCookie), c.Get(AdmissionHeader))
	if errors.Is(err, fairness.ErrAdmissionInvalid) {
		h.Log.InfoContext(c.UserContext(), "admission refused", "location", location, "reason", err.Error())
	}
	return a, err
}
