package finance

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) deadLetters(c *fiber.Ctx) error {
	list, err := h.Ledger.ListOutbox(c.UserContext(), "dead", c.QueryInt("limit"))
	if err != nil {
		return err
	}
	return response.OK(c, deadLettersJSON{DeadLetters: response.List(list, newDeadLetterJSON)})
}
