package web

// TEMPORARY: stand-ins for the staff foundation (login, roles, staff
// layout, audit) until it is merged; removed then. Until then no page
// under /intern admits anyone but the tests' member of staff.

import (
	"net/url"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/auth"
)

const roleDeskLead auth.Role = "desk_lead"

func staffLocation(s *auth.Staff) string { return "" }

// standInStaff is the member of staff the tests sign in as.
var standInStaff *auth.Staff

func (h *Handler) staffPage(roles ...auth.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		s := standInStaff
		if s == nil {
			return c.Redirect("/intern/anmelden?weiter="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
		}
		if !slices.ContainsFunc(roles, s.Has) {
			return h.staffMessage(c, fiber.StatusForbidden, "not_found_title", "forbidden")
		}
		return c.Next()
	}
}

func (h *Handler) renderStaff(c *fiber.Ctx, status int, page, titleKey string, data any) error {
	v := h.newView(c, titleKey, stepNone)
	v.D = data
	return h.render(c, status, page, v)
}

func (h *Handler) audit(c *fiber.Ctx, action, object, detail string) {}
