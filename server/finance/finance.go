// Package finance serves the treasury's view (Stadtkasse,
// Finanzbuchhaltung) under /api/v1/finance: postings, payments, the export
// files for the finance system, reconciliation runs, dead letters and the
// refund work list.
package finance

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// Ledger lists what the payment side recorded.
type Ledger interface {
	ListPostings(ctx context.Context, f payment.PostingFilter) ([]payment.Posting, error)
	ListPayments(ctx context.Context, f payment.PaymentFilter) ([]payment.Payment, error)
	// ListOutbox lists delivery jobs in a state ("dead" for dead letters).
	ListOutbox(ctx context.Context, state string, max int) ([]payment.OutboxItem, error)
}

// Reconciler matches settlement reports and bank statements against the
// postings and keeps the runs.
type Reconciler interface {
	Reconcile(ctx context.Context, rep settlement.Report, doc camt.Document) (*reconcile.Reconciliation, error)
	// Reconciliation returns a run, or reconcile.ErrNotFound.
	Reconciliation(ctx context.Context, id int64) (*reconcile.Reconciliation, error)
}

// Handler serves the finance routes.
type Handler struct {
	Ledger     Ledger
	Reconciler Reconciler
	// ExportDir holds the finance system's import files; empty when
	// postings are held back.
	ExportDir string
	// Refunds is the refund work list.
	Refunds RefundWorkList
	Staff   auth.StaffAuthenticator
}

// Routes mounts the finance routes on the /api/v1 group.
func (h *Handler) Routes(v1 fiber.Router) {
	g := v1.Group("/finance", auth.RequireStaff(h.Staff, auth.RoleFinance, auth.RoleAdmin))
	g.Get("/postings", h.postings)
	g.Get("/payments", h.payments)
	g.Get("/exports", h.exports)
	g.Get("/exports/:name", h.exportFile)
	g.Post("/reconciliations", h.startReconciliation)
	g.Get("/reconciliations/:id", h.reconciliation)
	g.Get("/reconciliations/:id/csv", h.reconciliationCSV)
	g.Get("/dead-letters", h.deadLetters)
	g.Get("/refunds", h.refunds)
	g.Post("/refunds/:id/done", auth.RequireStaff(h.Staff, auth.RoleFinance), h.completeRefund)
}
