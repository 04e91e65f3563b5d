// Package paycallback serves what the payment platform sends our way: the
// citizen returning from the pay page, and the platform's pushed
// notifications. Neither is trusted: both only trigger a status query of
// our own.
package paycallback

import (
	"context"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
)

// Flow asks the platform for a payment's state and acts on it.
type Flow interface {
	// Check queries the platform and applies the answer; on a failed query
	// it still returns the payment as we know it.
	Check(ctx context.Context, reference string) (*payment.Payment, error)
	// BookingStatus returns the status of the booking a payment is for.
	BookingStatus(ctx context.Context, bookingID int64) (string, error)
}

// Inbox finds payments and keeps every pushed notification.
type Inbox interface {
	PaymentByReference(ctx context.Context, ref string) (*payment.Payment, error)
	PaymentByPlatformID(ctx context.Context, platformID string) (*payment.Payment, error)
	SeenEvent(ctx context.Context, eventID string) (bool, error)
	// RecordInbox stores a notification; paymentID is 0 when unknown.
	RecordInbox(ctx context.Context, paymentID int64, kind, eventID string, verified bool, body []byte) error
}

// Handler serves the payment callbacks.
type Handler struct {
	// Flow is nil when online payment is off; the routes then answer 404.
	Flow  Flow
	Inbox Inbox
	// NotifySecret keys the notifications' signatures; pushes are refused
	// when it is empty.
	NotifySecret []byte
	// ResultPage, when set, is where a browser returning from the pay
	// page is sent on (ResultPage + reference): the citizens' result page,
	// which checks the payment itself.
	ResultPage string
	Log        *slog.Logger
}

// Routes mounts the callback routes on the /api/v1 group.
func (h *Handler) Routes(v1 fiber.Router) {
	g := v1.Group("/payments")
	g.Get("/:reference/return", h.paymentReturn)
	g.Post("/notifications", h.notification)
}
