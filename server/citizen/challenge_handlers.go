package citizen

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/fairness"
	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) challenge(c *fiber.Ctx) error {
	loc := c.Query("location")
	if loc == "" {
		return response.Required("location")
	}
	if _, _, err := h.Catalog.Location(loc); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return response.OK(c, h.Challenges.Issue(loc))
}

// requireProof checks the proof of work of a hold at a location-day when
// that day needs one.
func (h *Handler) requireProof(c *fiber.Ctx, location, day string, p *powJSON) error {
	ctx := c.UserContext()
	need, err := h.Challenges.Required(ctx, location, day)
	if err != nil {
		// Same reasoning as the rate limiter: fail open.
		h.Log.WarnContext(ctx, "challenge counter unavailable", "err", err)
	}
	if !need {
		return nil
	}
	if p == nil || p.Challenge == "" || p.Solution == "" {
		return fairness.ErrChallengeRequired
	}
	err = h.Challenges.Verify(ctx, location, day, p.Challenge, p.Solution)
	if errors.Is(err, fairness.ErrChallengeInvalid) {
		h.Log.InfoContext(ctx, "proof of work rejected", "location", location, "reason", err.Error())
	}
	return err
}
