package staff

import (
	"bytes"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/response"
)

// exportCity answers the catalogue as a city file, for scripts that keep
// it under version control (the administration pages import it).
func (h *Handler) exportCity(c *fiber.Ctx) error {
	if h.City == nil {
		return response.ErrNotFound
	}
	var buf bytes.Buffer
	if err := h.City.WriteCity(&buf); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}
