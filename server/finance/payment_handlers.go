package finance

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

// payments lists payments created from and to (inclusive dates).
func (h *Handler) payments(c *fiber.Ctx) error {
	from, to, err := request.DateRange(c)
	if err != nil {
		return err
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1) // the filter's end is exclusive
	}
	list, err := h.Ledger.ListPayments(c.UserContext(), payment.PaymentFilter{
		State: c.Query("state"), Kassenzeichen: c.Query("kassenzeichen"), From: from, To: to, Limit: c.QueryInt("limit"),
		Location: c.Query("location"), Service: c.Query("service"), Reference: c.Query("reference"),
	})
	if err != nil {
		return err
	}
	return response.OK(c, paymentsJSON{Payments: response.List(list, newPaymentJSON)})
}
