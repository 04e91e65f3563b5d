package citizen

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/response"
)

// rateLimited guards a route with the client's token bucket named bucket.
// When Redis does not answer, the request goes through: the booking itself
// needs Redis and answers 503 on its own, and a limiter outage must not
// lock every citizen out.
func (h *Handler) rateLimited(bucket string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !h.Limiter.Enabled() {
			return c.Next()
		}
		ok, wait, err := h.Limiter.Allow(c.UserContext(), bucket, ClientAddr(c, h.ClientIPHeader))
		if err != nil {
			h.Log.WarnContext(c.UserContext(), "rate limiter unavailable; letting request through", "err", err)
			return c.Next()
		}
		if !ok {
			return response.RateLimited(wait)
		}
		return c.Next()
	}
}

// ClientAddr is the address a request is rate limited by: the peer, or,
// when a trusted proxy is configured, the last entry of its header, which
// is the one that proxy wrote itself (entries before it come from the
// client and can be forged).
func ClientAddr(c *fiber.Ctx, header string) string {
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
