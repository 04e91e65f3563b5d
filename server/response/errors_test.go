package response

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/pgtx"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// TestErrorTable pins every domain outcome's answer: status and code are
// the API contract (docs/openapi.yaml).
func TestErrorTable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{booking.ErrLocationUnknown, 404, "location_not_found"},
		{booking.ErrServiceUnknown, 404, "service_not_found"},
		{booking.ErrSlotFull, 409, "slot_full"},
		{booking.ErrSlotInvalid, 422, "slot_invalid"},
		{booking.ErrSlotPast, 422, "slot_past"},
		{booking.ErrUnitsInvalid, 422, "units_invalid"},
		{booking.ErrHoldNotFound, 404, "hold_not_found"},
		{booking.ErrHoldExpired, 410, "hold_expired"},
		{booking.ErrHoldUsed, 409, "hold_used"},
		{booking.ErrNameInvalid, 422, "name_invalid"},
		{booking.ErrEmailInvalid, 422, "email_invalid"},
		{booking.ErrBookingNotFound, 404, "booking_not_found"},
		{booking.ErrTooLate, 409, "too_late"},
		{booking.ErrContactLimit, 409, "contact_limit"},
		{fairness.ErrChallengeRequired, 428, "challenge_required"},
		{fairness.ErrChallengeInvalid, 403, "challenge_invalid"},
		{booking.ErrDeviceUnknown, 401, "device_unauthorized"},
		{booking.ErrDeviceMode, 422, "device_mode_invalid"},
		{booking.ErrEnrollmentCode, 410, "enrollment_invalid"},
		{booking.ErrQueueEmpty, 409, "queue_empty"},
		{booking.ErrTicketNotFound, 404, "ticket_not_found"},
		{booking.ErrTicketState, 409, "ticket_state"},
		{booking.ErrCheckInWrongDay, 422, "checkin_wrong_day"},
		{booking.ErrCheckInTooEarly, 422, "checkin_too_early"},
		{booking.ErrCheckInTooLate, 422, "checkin_too_late"},
		{booking.ErrCheckInWrongSite, 422, "wrong_location"},
		{booking.ErrBookingCancelled, 409, "booking_cancelled"},
		{booking.ErrTicketMalformed, 422, "ticket_invalid"},
		{booking.ErrHoldReleased, 410, "hold_released"},
		{booking.ErrAlreadyCancelled, 409, "already_cancelled"},
		{booking.ErrCheckInUnknown, 404, "checkin_not_found"},
		{booking.ErrLocationClosed, 409, "location_closed"},
		{booking.ErrBookingUnpaid, 409, "booking_unpaid"},
		{booking.ErrNonceReused, 409, "nonce_reused"},
		{booking.ErrScanInFuture, 422, "scanned_in_future"},
		{booking.ErrAdmittedRevoked, 409, "admitted_revoked"},
		{payment.ErrPlatformID, 502, "payment_platform_error"},
		{booking.ErrTicketSignature, 422, "ticket_invalid"},
		{fmt.Errorf("%w: %w", payment.ErrStartFailed, payment.ErrUnavailable), 503, "payment_unavailable"},
		{fmt.Errorf("%w: %w", payment.ErrStartFailed, payment.ErrRejected), 502, "payment_rejected"},
		{payment.ErrPaymentNotFound, 404, "payment_not_found"},
		{payment.ErrMalformedNotification, 400, "notification_invalid"},
		{payment.ErrBadSignature, 401, "signature_invalid"},
		{reconcile.ErrNotFound, 404, "reconciliation_not_found"},
		{booking.ErrRangeInvalid, 400, "range_invalid"},
		{booking.ErrChoiceInvalid, 422, "choice_invalid"},
		{booking.ErrNotActivatable, 409, "not_activatable"},
		{booking.ErrNotReschedulable, 409, "not_reschedulable"},
		{booking.ErrPhoneInvalid, 422, "phone_invalid"},
		{booking.ErrLangInvalid, 422, "lang_invalid"},
		{payment.ErrAccountingMixed, 422, "accounting_mixed"},

		// Every store outage is the same answer.
		{booking.ErrUnavailable, 503, "unavailable"},
		{fairness.ErrUnavailable, 503, "unavailable"},
		{fmt.Errorf("list postings: %w: %w", payment.ErrStoreUnavailable, refused), 503, "unavailable"},
		{fmt.Errorf("%w: postgres: %w", booking.ErrUnavailable, refused), 503, "unavailable"},
		{fmt.Errorf("list postings: %w", context.DeadlineExceeded), 503, "unavailable"},
		{fmt.Errorf("list postings: %w", refused), 503, "unavailable"},
		// An outage wins over the outcome it interrupted.
		{fmt.Errorf("%w: %w", booking.ErrUnavailable, booking.ErrHoldExpired), 503, "unavailable"},

		// Input PostgreSQL refused (class 22) is the client's, never an outage.
		{fmt.Errorf("%w: heartbeat: invalid byte sequence", pgtx.ErrInputRejected), 422, "input_rejected"},
		{fiber.ErrUnsupportedMediaType, 415, "encoding_unsupported"},
		{fmt.Errorf("lookup: %w", booking.ErrBookingNotFound), 404, "booking_not_found"},
		{fiber.ErrNotFound, 404, "not_found"},
		{fiber.ErrMethodNotAllowed, 405, "method_not_allowed"},
		{fiber.ErrRequestEntityTooLarge, 413, "too_large"},
		{fiber.ErrRequestTimeout, 408, "request_timeout"},
		{fiber.ErrRequestHeaderFieldsTooLarge, 431, "too_large"},
		{fiber.ErrUnprocessableEntity, 400, "invalid_json"},
		{Invalid("units", "is wrong", "ist falsch"), 400, "invalid_request"},
		{errors.New("something nobody planned for"), 500, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			e := For(tt.err)
			if e.Status != tt.status || e.Code != tt.code || e.Message == "" || e.MessageDE == "" || e.Message == e.MessageDE {
				t.Fatalf("got %d %s %q / %q, want %d %s", e.Status, e.Code, e.Message, e.MessageDE, tt.status, tt.code)
			}
			if (e.Status == 503) != (e.RetryAfter > 0) {
				t.Fatalf("%s: Retry-After %d", e.Code, e.RetryAfter)
			}
		})
	}
}

// TestTableAnswersAreComplete: no row of the table lacks a message or
// matches nothing.
func TestTableAnswersAreComplete(t *testing.T) {
	for _, m := range Table {
		if len(m.Errs) == 0 || m.Answer.Code == "" || m.Answer.Message == "" || m.Answer.MessageDE == "" || m.Answer.Status < 400 {
			t.Errorf("incomplete row %+v", m)
		}
	}
}

func TestRateLimitedRoundsUp(t *testing.T) {
	if e := RateLimited(0); e.RetryAfter != 1 || e.Status != 429 {
		t.Fatalf("%+v", e)
	}
	if e := RateLimited(1500_000_000); e.RetryAfter != 2 {
		t.Fatalf("%+v", e)
	}
}
