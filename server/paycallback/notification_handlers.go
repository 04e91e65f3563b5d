package paycallback

import (
	"bytes"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/response"
)

type acceptedJSON struct {
	Status string `json:"status"`
}

// notification receives a pushed hint from the platform: verified, stored
// in the inbox, deduplicated by event id, then acted on only after our own
// status query.
func (h *Handler) notification(c *fiber.Ctx) error {
	ctx := c.UserContext()
	body := bytes.Clone(c.Body())
	if h.Flow == nil || len(h.NotifySecret) == 0 {
		return response.ErrNotFound
	}
	n, err := payment.VerifyNotification(h.NotifySecret, c.Get(payment.SignatureHeader), body)
	if err != nil {
		if ierr := h.Inbox.RecordInbox(ctx, 0, "notify", "", false, body); ierr != nil {
			h.Log.WarnContext(ctx, "record rejected notification", "err", ierr)
		}
		h.Log.WarnContext(ctx, "notification rejected", "err", err)
		if !errors.Is(err, payment.ErrMalformedNotification) {
			return payment.ErrBadSignature
		}
		return err
	}
	pay, err := h.Inbox.PaymentByReference(ctx, n.Reference)
	if errors.Is(err, payment.ErrPaymentNotFound) && n.PlatformID != "" {
		pay, err = h.Inbox.PaymentByPlatformID(ctx, n.PlatformID)
	}
	var paymentID int64
	switch {
	case err == nil:
		paymentID = pay.ID
	case errors.Is(err, payment.ErrPaymentNotFound):
		pay = nil // a hint about a payment we do not know is kept, not acted on
	default:
		return err
	}
	seen, err := h.Inbox.SeenEvent(ctx, n.EventID)
	if err != nil {
		return err
	}
	if err := h.Inbox.RecordInbox(ctx, paymentID, "notify", n.EventID, true, body); err != nil {
		return err
	}
	if pay != nil && !seen {
		if _, err := h.Flow.Check(ctx, pay.Reference); err != nil {
			h.Log.WarnContext(ctx, "status check after notification", "reference", pay.Reference, "err", err)
		}
	}
	return response.Accepted(c, acceptedJSON{Status: "accepted"})
}
