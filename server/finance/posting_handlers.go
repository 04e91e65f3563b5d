package finance

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

// postings lists postings by booking date, from and to inclusive.
func (h *Handler) postings(c *fiber.Ctx) error {
	from, to, err := request.DateRange(c)
	if err != nil {
		return err
	}
	list, err := h.Ledger.ListPostings(c.UserContext(), payment.PostingFilter{
		Kind: c.Query("kind"), Kassenzeichen: c.Query("kassenzeichen"), From: from, To: to, Limit: c.QueryInt("limit"),
		Location: c.Query("location"), Service: c.Query("service"), Reference: c.Query("reference"),
	})
	if err != nil {
		return err
	}
	return response.OK(c, postingsJSON{Postings: response.List(list, newPostingJSON)})
}
