package web

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/gofiber/fiber/v2"
)

// browserCookie names a citizen's browser for the rules that count per
// browser (one live hold per location, one place in a waiting room). It
// is a random id, not a login: it says nothing about the person, and
// clearing it only costs the browser its place.
const browserCookie = "termin_browser"

// browserID returns this browser's id, setting the cookie when new.
func (h *Handler) browserID(c *fiber.Ctx) string {
	if id := c.Cookies(browserCookie); validBrowserID(id) {
		return id
	}
	b := make([]byte, 18)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	c.Cookie(&fiber.Cookie{Name: browserCookie, Value: id, Path: "/", HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Secure: h.secure(c)})
	c.Request().Header.SetCookie(browserCookie, id)
	return id
}

// validBrowserID accepts only ids browserID could have made, so a forged
// cookie cannot smuggle anything into a Redis key.
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
