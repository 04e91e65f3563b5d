package finance

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

// refunds lists the refund work list: ?state=open (the default), done or
// all.
func (h *Handler) refunds(c *fiber.Ctx) error {
	state := c.Query("state", "open")
	switch state {
	case "open", "done":
	case "all":
		state = ""
	default:
		return response.Invalid("state", "must be open, done or all", "muss open, done oder all sein")
	}
	list, err := h.Refunds.RefundTasks(c.UserContext(), payment.RefundTaskFilter{State: state, Limit: c.QueryInt("limit")})
	if err != nil {
		return err
	}
	return response.OK(c, refundTasksJSON{Refunds: response.List(list, newRefundTaskJSON)})
}

// completeRefund marks a refund done: finance has paid it back in the
// platform's back office. The Storno posting is written now.
func (h *Handler) completeRefund(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return payment.ErrRefundTaskNotFound
	}
	var body completeRefundJSON
	if len(c.Body()) > 0 {
		if err := request.JSON(c, &body); err != nil {
			return err
		}
	}
	by := body.DoneBy
	if by == "" {
		if s := auth.StaffOf(c); s != nil {
			by = s.Name
		}
	}
	t, err := h.Refunds.CompleteRefund(c.UserContext(), id, by, body.Note)
	if err != nil {
		return err
	}
	return response.OK(c, newRefundTaskJSON(&t))
}
