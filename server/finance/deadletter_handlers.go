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
	out := deadLettersJSON{DeadLetters: make([]deadLetterJSON, len(list))}
	for i := range list {
		out.DeadLetters[i] = newDeadLetterJSON(&list[i])
	}
	return response.OK(c, out)
}
