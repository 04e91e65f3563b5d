package web

import "github.com/gofiber/fiber/v2"

// staffMessage renders a staff page of a title and a text with links on.
func (h *Handler) financeMessage(c *fiber.Ctx, status int, titleKey, text string, links ...link) error {
	return h.renderStaff(c, status, "staff_finance_message", titleKey, messageData{Text: text, Links: links})
}

func (h *Handler) staffNotFound(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	return h.financeMessage(c, fiber.StatusNotFound, "not_found_title", t.get("not_found"), link{"/intern", t.get("fin_staff_start")})
}
