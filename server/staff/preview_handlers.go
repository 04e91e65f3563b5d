package staff

import (
	"bytes"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/printer"
	"github.com/digitale-verwaltung/termin/server/response"
)

// ticketPreview renders a sample queue ticket of a location as a PNG, so an
// administrator sees what the kiosks print without walking to one.
func (h *Handler) ticketPreview(c *fiber.Ctx) error {
	l, tz, err := h.Catalog.Location(c.Query("location"))
	if err != nil {
		return err
	}
	number := c.Query("number", "A017")
	if len(number) > 8 {
		return response.Invalid("number", "is at most 8 characters", "hat höchstens 8 Zeichen")
	}
	t := printer.Ticket{
		Header: []string{l.Name},
		Number: number,
		Lines:  []string{"Bitte warten Sie, bis Ihre Nummer aufgerufen wird.", "Please wait until your number is called."},
		Issued: h.Now().In(tz),
		QR:     c.Query("qr"),
	}
	opts := printer.Options{PaperWidth: printer.Paper80mm}
	if c.Query("paper") == "58" {
		opts.PaperWidth = printer.Paper58mm
	}
	data, err := printer.EncodeTicket(t, opts)
	if err != nil {
		return response.Invalid("number", "cannot be printed", "kann nicht gedruckt werden")
	}
	var png bytes.Buffer
	if err := printer.WritePNG(&png, data, printer.RenderOptions{PaperWidth: opts.PaperWidth}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(png.Bytes())
}
