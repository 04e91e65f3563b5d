package web

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/response"
)

// Holders places holds as a browser, which has one live hold per location
// (a new hold replaces the last), and says when holds were placed.
type Holders interface {
	PlaceHoldAs(ctx context.Context, holder, locationID string, items []Item, start time.Time) (*booking.Hold, error)
	// HolderHold is the holder's live hold at a location and when it was
	// placed; "" when none.
	HolderHold(ctx context.Context, holder, locationID string) (id string, placed time.Time, err error)
	// HoldPlaced reports whether a hold is live and when it was placed.
	HoldPlaced(ctx context.Context, id string) (placed time.Time, live bool, err error)
}

// ReleaseGuard slows down browsers that release holds within seconds of
// placing them, again and again (fairness.ReleaseGuard).
type ReleaseGuard interface {
	Allow(ctx context.Context, client string, placed, now time.Time) (ok bool, wait time.Duration, err error)
}

// placeHold holds start for the choice: as this browser when the one-hold
// rule is on (a hold it already has at the location is replaced, unless
// it releases holds too quickly: then wait is how long it must wait).
func (h *Handler) placeHold(c *fiber.Ctx, ch *choice, start time.Time) (hold *booking.Hold, wait time.Duration, err error) {
	ctx := c.UserContext()
	if h.Holders == nil {
		hold, err = h.Reservations.PlaceHold(ctx, ch.Location.ID, ch.Items, start)
		return hold, 0, err
	}
	holder := "b:" + h.browserID(c)
	if h.Releases != nil {
		id, placed, err := h.Holders.HolderHold(ctx, holder, ch.Location.ID)
		if err != nil {
			h.Log.WarnContext(ctx, "holder index unavailable; not guarding the replacement", "err", err)
		} else if id != "" {
			if wait := h.releaseWait(c, placed); wait > 0 {
				return nil, wait, nil
			}
		}
	}
	hold, err = h.Holders.PlaceHoldAs(ctx, holder, ch.Location.ID, ch.Items, start)
	return hold, 0, err
}

// releaseWait is how long this browser must wait before it may release a
// hold placed at placed; 0 when it may now.
func (h *Handler) releaseWait(c *fiber.Ctx, placed time.Time) time.Duration {
	if h.Releases == nil {
		return 0
	}
	ok, wait, err := h.Releases.Allow(c.UserContext(), h.ClientAddr(c), placed, h.now())
	if err != nil {
		h.Log.WarnContext(c.UserContext(), "release guard unavailable; letting request through", "err", err)
		return 0
	}
	if ok {
		return 0
	}
	return max(wait, time.Second)
}

// releasedTooQuickly is the page for a browser that released holds too
// quickly too often: wait, then try again (the form is kept).
func (h *Handler) releasedTooQuickly(c *fiber.Ctx, wait time.Duration, retry *retryForm, back link) error {
	e := response.ReleasedTooQuickly(wait)
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(e.RetryAfter))
	v := h.newView(c, "quick_release_title", stepTime)
	if retry != nil {
		retry.Fields["csrf"] = []string{v.CSRF}
		retry.Label = v.texts.get("busy_retry")
	}
	v.D = messageData{Text: v.texts.f("quick_release_text", e.RetryAfter), Retry: retry, Links: []link{back}}
	return h.render(c, fiber.StatusTooManyRequests, "message", v)
}
