package citizen

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/fairness"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) createHold(c *fiber.Ctx) error {
	var req holdRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if req.Location == "" {
		return response.Required("location")
	}
	items, err := choiceOf(req.Service, req.Units, req.Services, req.Tickets)
	if err != nil {
		return err
	}
	start, err := time.Parse(time.RFC3339, req.Start)
	if err != nil {
		return response.Invalid("start", "must be an RFC 3339 time", "muss eine Zeit im Format RFC 3339 sein")
	}
	_, tz, err := h.Catalog.Location(req.Location)
	if err != nil {
		return err
	}
	if err := h.requireProof(c, req.Location, booking.DateOf(start.In(tz)).String(), req.Pow); err != nil {
		return err
	}
	adm, err := h.roomGate(c, req.Location)
	if err != nil {
		return err
	}
	var hold *booking.Hold
	switch {
	case h.Holders != nil:
		holder := h.holder(c)
		if holder == "" {
			hold, err = h.Reservations.PlaceHoldFor(c.UserContext(), req.Location, items, start)
			break
		}
		if err := h.guardReplace(c, holder, req.Location); err != nil {
			return err
		}
		hold, err = h.Holders.PlaceHoldAs(c.UserContext(), holder, req.Location, items, start)
	case req.Service != "":
		hold, err = h.Reservations.PlaceHold(c.UserContext(), req.Location, req.Service, start, items[0].Count)
	default:
		hold, err = h.Reservations.PlaceHoldFor(c.UserContext(), req.Location, items, start)
	}
	if err != nil {
		if adm != nil {
			// A failed hold does not count against the admission.
			if rerr := h.Room.Refund(context.WithoutCancel(c.UserContext()), *adm); rerr != nil {
				h.Log.WarnContext(c.UserContext(), "waiting room refund", "err", rerr)
			}
		}
		return err
	}
	return response.Created(c, newHoldJSON(hold))
}

func (h *Handler) deleteHold(c *fiber.Ctx) error {
	id := c.Params("id")
	if h.Releases != nil && h.Holders != nil {
		placed, live, err := h.Holders.HoldPlaced(c.UserContext(), id)
		if err != nil {
			return err
		}
		if live {
			if err := h.guardRelease(c, placed); err != nil {
				return err
			}
		}
	}
	if err := h.Reservations.ReleaseHold(c.UserContext(), id); err != nil {
		return err
	}
	return response.NoContent(c)
}

// browserCookie is the pages' random browser id (server/web/session.go):
// a browser that holds through the API and the pages is one holder.
const browserCookie = "termin_browser"

// holder is who an API hold counts for: the browser of the pages' cookie
// when the request carries one; otherwise, with ByAddress, the client's
// address (keyed); "" (no rule) otherwise.
func (h *Handler) holder(c *fiber.Ctx) string {
	if id := c.Cookies(browserCookie); validBrowserID(id) {
		return "b:" + id
	}
	if h.HoldersByAddress {
		return "a:" + fairness.ClientKey(h.HolderKey, ClientAddr(c, h.ClientIPHeader))
	}
	return ""
}

// validBrowserID accepts only ids the pages could have made (24
// characters of base64url), so a forged cookie cannot smuggle anything
// into a Redis key.
func validBrowserID(id string) bool {
	if len(id) != 24 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// guardReplace applies the release guard to the hold a new hold of the
// holder would replace.
func (h *Handler) guardReplace(c *fiber.Ctx, holder, location string) error {
	if h.Releases == nil {
		return nil
	}
	id, placed, err := h.Holders.HolderHold(c.UserContext(), holder, location)
	if err != nil {
		h.Log.WarnContext(c.UserContext(), "holder index unavailable; not guarding the replacement", "err", err)
		return nil
	}
	if id == "" {
		return nil
	}
	return h.guardRelease(c, placed)
}

// guardRelease lets a release of a hold placed at placed through, or
// answers 429 released_too_quickly with Retry-After. A store outage lets
// it through, like the rate limiter.
func (h *Handler) guardRelease(c *fiber.Ctx, placed time.Time) error {
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	ok, wait, err := h.Releases.Allow(c.UserContext(), ClientAddr(c, h.ClientIPHeader), placed, now)
	if err != nil {
		h.Log.WarnContext(c.UserContext(), "release guard unavailable; letting request through", "err", err)
		return nil
	}
	if !ok {
		return response.ReleasedTooQuickly(wait)
	}
	return nil
}
