package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	"github.com/digitale-verwaltung/termin/payment/camt"
	paymentpg "github.com/digitale-verwaltung/termin/payment/postgres"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
	"github.com/digitale-verwaltung/termin/server/web"
)

// financePages wires the finance and statistics pages to the payment
// and booking stores.
func financePages(d *deps, h *web.Handler) {
	if d.pay.store != nil {
		h.Ledger = d.pay.store
		h.Reconciliations = webReconciliations{d.pay.store, reconcile.Options{PayoutAccount: d.cfg.Pay.PayoutAccount}}
		h.ExportDir = d.cfg.Pay.ExportDir
	}
	if d.pay.refunds != nil {
		h.Refunds = d.pay.refunds
	}
	h.StaffBookings = staffBookings{d.pg}
	h.Stats = d.pg
}

// webReconciliations reads the uploaded files and runs a reconciliation,
// as the finance API does.
type webReconciliations struct {
	store *paymentpg.Store
	opt   reconcile.Options
}

func (r webReconciliations) Reconcile(ctx context.Context, settlementFile, statementFile []byte, breakdowns [][]byte) (*reconcile.Reconciliation, error) {
	rep, err := settlement.Parse(bytes.NewReader(settlementFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", web.ErrSettlementUnreadable, err)
	}
	doc, err := camt.Parse(bytes.NewReader(statementFile))
	if err == nil && doc.Kind != camt.KindStatement {
		err = fmt.Errorf("%w: a %s notification, not a camt.053 statement", camt.ErrMalformed, doc.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", web.ErrStatementUnreadable, err)
	}
	for _, raw := range breakdowns {
		ntf, err := camt.Parse(bytes.NewReader(raw))
		if err == nil {
			err = doc.ApplyBreakdown(ntf)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", web.ErrBreakdownUnreadable, err)
		}
	}
	return reconcile.Run(ctx, r.store, rep, doc, r.opt)
}

func (r webReconciliations) Reconciliation(ctx context.Context, id int64) (*reconcile.Reconciliation, error) {
	return reconcile.ByID(ctx, r.store, id)
}

func (r webReconciliations) ReconciliationRuns(ctx context.Context, max int) ([]reconcile.Reconciliation, error) {
	return r.store.ReconciliationRuns(ctx, max)
}

// staffBookings reads bookings by code without their manage token.
type staffBookings struct{ store *bookingpg.Store }

func (s staffBookings) BookingByCode(ctx context.Context, code string) (*booking.Booking, error) {
	b, _, err := s.store.BookingByCode(ctx, code)
	return b, err
}
