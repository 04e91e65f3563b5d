package web

import (
	"context"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// Refunds is the refund work list: refunds finance pays back by hand in
// the platform's back office (payment.Flow).
type Refunds interface {
	RefundTasks(ctx context.Context, filter payment.RefundTaskFilter) ([]payment.RefundTask, error)
	// CompleteRefund closes a task with who did it and a note; a task
	// done before answers payment.ErrRefundTaskDone.
	CompleteRefund(ctx context.Context, id int64, doneBy, note string) (payment.RefundTask, error)
}

// refundRow is one task of the work list.
type refundRow struct {
	ID                                                          int64
	Reference, BookingCode, Platform, PlatformID, Kassenzeichen string
	Amount, Reason, Created, DoneBy, Done, Note, Storno         string
	Open                                                        bool
}

type refundsPage struct {
	Rows   []refundRow
	Done   bool // the list of done tasks
	Notice string
	// Notes keeps what was typed into a task's note field.
	Notes map[string]string
	// CanChange: the member of staff may mark refunds done.
	CanChange bool
	formProblems
}

func (h *Handler) refundRoutes(g fiber.Router) {
	if h.Refunds == nil {
		return
	}
	g.Get("/erstattungen", h.refunds)
	g.Post("/erstattungen/:id/erledigt", h.staffPage(auth.RoleFinance), h.completeRefund)
}

func (h *Handler) refunds(c *fiber.Ctx) error {
	return h.refundsPage(c, fiber.StatusOK, refundsPage{})
}

func (h *Handler) refundsPage(c *fiber.Ctx, status int, page refundsPage) error {
	t := textsFor(lang(c))
	page.Done, page.CanChange = c.Query("status") == "erledigt", mayChange(c)
	state := "open"
	if page.Done {
		state = "done"
	}
	tasks, err := h.Refunds.RefundTasks(c.UserContext(), payment.RefundTaskFilter{State: state, Limit: listLimit})
	if err != nil {
		return err
	}
	for _, r := range tasks {
		row := refundRow{ID: r.ID, Reference: r.Reference, BookingCode: r.BookingCode, Platform: r.Platform, PlatformID: r.PlatformID,
			Kassenzeichen: r.Kassenzeichen, Amount: t.euro(r.AmountCents), Reason: r.Reason,
			Created: r.CreatedAt.In(berlin).Format("02.01.2006 15:04"), DoneBy: r.DoneBy, Note: r.Note, Storno: r.StornoPostingID, Open: r.Open()}
		if r.DoneAt != nil {
			row.Done = r.DoneAt.In(berlin).Format("02.01.2006 15:04")
		}
		page.Rows = append(page.Rows, row)
	}
	if id := c.Query("erledigt"); id != "" {
		if _, err := strconv.ParseInt(id, 10, 64); err == nil {
			page.Notice = t.f("fin_refund_done_notice", id)
		}
	}
	return h.renderStaff(c, status, "staff_finance_refunds", "fin_refunds", page)
}

// completeRefund marks a task done by the logged-in member of staff.
func (h *Handler) completeRefund(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return h.staffNotFound(c)
	}
	note := c.FormValue("note")
	field := "note-" + strconv.FormatInt(id, 10)
	if utf8.RuneCountInString(note) > payment.MaxRefundNoteLen {
		page := refundsPage{Notes: map[string]string{field: note}}
		page.add(field, t.f("fin_err_long", payment.MaxRefundNoteLen))
		return h.refundsPage(c, fiber.StatusBadRequest, page)
	}
	s := auth.StaffOf(c)
	doneBy := s.Name
	if doneBy == "" {
		doneBy = s.Login
	}
	_, err = h.Refunds.CompleteRefund(c.UserContext(), id, doneBy, note)
	switch {
	case errors.Is(err, payment.ErrRefundTaskNotFound):
		return h.staffNotFound(c)
	case errors.Is(err, payment.ErrRefundTaskDone):
		return h.financeMessage(c, fiber.StatusConflict, "fin_refunds", t.get("fin_refund_already_done"),
			link{"/intern/kasse/erstattungen", t.get("fin_refunds")})
	case errors.Is(err, payment.ErrRefundTaskInvalid):
		page := refundsPage{Notes: map[string]string{field: note}}
		page.add(field, t.get("fin_err_refund_note"))
		return h.refundsPage(c, fiber.StatusBadRequest, page)
	case err != nil:
		return err
	}
	h.audit(c, "finance.refund_done", "refund:"+strconv.FormatInt(id, 10), "")
	return c.Redirect("/intern/kasse/erstattungen?erledigt="+strconv.FormatInt(id, 10), fiber.StatusSeeOther)
}
