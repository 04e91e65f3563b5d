package web

// Stand-ins for the staff sign-in, rendering and audit log until those
// land; replaced by them. Until then the administration pages admit only
// a bearer token the StaffAuth authenticator knows (ADMIN_API_KEY) and
// check the double-submit CSRF token of every form.

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/auth"
)

func (h *Handler) staffPage(roles ...auth.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token, ok := auth.Bearer(c)
		if !ok || h.StaffAuth == nil {
			return h.message(c, fiber.StatusUnauthorized, "adm_title", "unauthorized")
		}
		s, err := h.StaffAuth.Authenticate(c.UserContext(), token)
		if errors.Is(err, auth.ErrNoStaff) {
			return h.message(c, fiber.StatusUnauthorized, "adm_title", "unauthorized")
		}
		if err != nil {
			return err
		}
		allowed := false
		for _, r := range roles {
			allowed = allowed || s.Has(r)
		}
		if !allowed {
			return h.message(c, fiber.StatusForbidden, "adm_title", "forbidden")
		}
		if c.Method() == fiber.MethodPost && !csrfOK(c) {
			return h.message(c, fiber.StatusForbidden, "adm_title", "csrf")
		}
		return c.Next()
	}
}

func (h *Handler) renderStaff(c *fiber.Ctx, status int, page, titleKey string, data any) error {
	v := h.newView(c, titleKey, stepNone)
	v.D = data
	return h.render(c, status, page, v)
}

func (h *Handler) audit(c *fiber.Ctx, action, object, detail string) {
	if h.Log != nil {
		h.Log.InfoContext(c.UserContext(), "audit", "action", action, "object", object, "detail", detail)
	}
}

func accountIDOf(c *fiber.Ctx) int64 { return 0 }
