package paycallback

import (
	"errors"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/citizen"
	"github.com/digitale-verwaltung/termin/server/response"
)

// paymentReturn is where the platform sends the citizen back. The query
// parameters are ignored: the state comes from a status query of our own.
func (h *Handler) paymentReturn(c *fiber.Ctx) error {
	if h.Flow == nil {
		return payment.ErrPaymentNotFound
	}
	html := c.Accepts(fiber.MIMEApplicationJSON, fiber.MIMETextHTML) == fiber.MIMETextHTML
	if html && h.ResultPage != "" {
		return c.Redirect(h.ResultPage+url.PathEscape(c.Params("reference")), fiber.StatusSeeOther)
	}
	ctx := c.UserContext()
	pay, err := h.Flow.Check(ctx, c.Params("reference"))
	if errors.Is(err, payment.ErrPaymentNotFound) || pay == nil {
		return err
	}
	if err != nil {
		// The sweeper keeps asking; the citizen sees the state we know.
		h.Log.WarnContext(ctx, "status check on return", "reference", pay.Reference, "err", err)
	}
	out := citizen.NewPayment(pay)
	if status, err := h.Flow.BookingStatus(ctx, pay.BookingID); err == nil {
		out.BookingStatus = status
	}
	if html {
		title, de, en := resultTexts(out.State)
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return resultPage.Execute(c.Response().BodyWriter(), struct {
			Title, TextDE, TextEN string
			P                     citizen.Payment
		}{title, de, en, out})
	}
	return response.OK(c, out)
}
