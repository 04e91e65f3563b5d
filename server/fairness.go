package main

import (
	"crypto/rand"
	"errors"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/fairness"
)

// newFairness builds the rate limiter and the proof-of-work challenges from
// the configuration.
func newFairness(d *deps) (*fairness.Limiter, *fairness.Challenges) {
	cfg := d.cfg
	powKey := cfg.subKey("pow")
	if cfg.Secret == "" {
		// Without a secret a derived key would be public; a random one
		// keeps challenges unforgeable, valid on this process only.
		powKey = make([]byte, 32)
		if _, err := rand.Read(powKey); err != nil {
			panic(err)
		}
	}
	pow := fairness.NewChallenges(d.rdb, powKey)
	if cfg.PowBits > 0 {
		pow.Difficulty = cfg.PowBits
	}
	if cfg.PowTTL > 0 {
		pow.TTL = cfg.PowTTL
	}
	pow.AutoThreshold = cfg.PowAuto
	pow.Locations = map[string]bool{}
	for _, l := range cfg.PowLocations {
		if l == "*" {
			pow.All = true
		}
		pow.Locations[l] = true
	}
	return fairness.NewLimiter(d.rdb, cfg.subKey("client"), cfg.RateLimit, cfg.RateBurst), pow
}

// clientAddr is the address a request is rate limited by: the peer, or,
// when a trusted proxy is configured, the last entry of its header, which
// is the one that proxy wrote itself (entries before it come from the
// client and can be forged).
func clientAddr(c *fiber.Ctx, header string) string {
	if header != "" {
		if v := c.Get(header); v != "" {
			last := v
			if i := strings.LastIndexByte(v, ','); i >= 0 {
				last = v[i+1:]
			}
			if a, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return a.String()
			}
		}
	}
	return c.Context().RemoteIP().String()
}

// rateLimited guards a route with the client's token bucket named bucket.
// When Redis does not answer, the request goes through: the booking itself
// needs Redis and answers 503 on its own, and a limiter outage must not
// lock every citizen out.
func (a *api) rateLimited(bucket string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !a.limiter.Enabled() {
			return c.Next()
		}
		ok, wait, err := a.limiter.Allow(c.UserContext(), bucket, clientAddr(c, a.clientIPHeader))
		if err != nil {
			a.log.WarnContext(c.UserContext(), "rate limiter unavailable; letting request through", "err", err)
			return c.Next()
		}
		if !ok {
			return rateLimitedError(wait)
		}
		return c.Next()
	}
}

// requireProof checks the proof of work of a hold at a location-day when
// that day needs one.
func (a *api) requireProof(c *fiber.Ctx, location, day string, p *powJSON) error {
	need, err := a.pow.Required(c.UserContext(), location, day)
	if err != nil {
		// Same reasoning as the rate limiter: fail open.
		a.log.WarnContext(c.UserContext(), "challenge counter unavailable", "err", err)
	}
	if !need {
		return nil
	}
	if p == nil || p.Challenge == "" || p.Solution == "" {
		return fairness.ErrChallengeRequired
	}
	err = a.pow.Verify(c.UserContext(), location, day, p.Challenge, p.Solution)
	if errors.Is(err, fairness.ErrChallengeInvalid) {
		a.log.InfoContext(c.UserContext(), "proof of work rejected", "location", location, "reason", err.Error())
	}
	return err
}

type powJSON struct {
	Challenge string `json:"challenge"`
	Solution  string `json:"solution"`
}

func (a *api) challenge(c *fiber.Ctx) error {
	loc := c.Query("location")
	if loc == "" {
		return invalidField("location", "is required", "ist erforderlich")
	}
	if _, _, err := a.engine.Location(loc); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(a.pow.Issue(loc))
}
