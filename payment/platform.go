package payment

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Platform is a municipal payment platform (epay21, an XBezahldienste
// endpoint, the simulator) seen from the city's side. Every call is an
// authenticated server-to-server request; its answer is the only thing the
// caller may act on — never parameters of the citizen's redirect.
//
// Implementations return errors that match ErrNotFound, ErrRejected or
// ErrUnavailable with errors.Is, so the caller can tell a domain outcome from
// a transient failure worth retrying.
type Platform interface {
	// Create registers a payment and returns where to send the citizen.
	Create(ctx context.Context, req CreateRequest) (Created, error)
	// Status asks the platform for the current state of a payment.
	Status(ctx context.Context, ref Ref) (StatusReport, error)
	// Confirm tells the platform the booking has been settled on our side
	// (or failed, or was cancelled). It is a no-op on platforms without such
	// a call.
	Confirm(ctx context.Context, ref Ref, outcome Outcome) error
	// Refund pays back all or part of a paid payment.
	Refund(ctx context.Context, req RefundRequest) (RefundRef, error)
}

// Domain outcomes of platform calls. Adapters wrap them with context.
var (
	// ErrNotFound: the platform does not know the payment.
	ErrNotFound = errors.New("payment not found at platform")
	// ErrRejected: the platform refused the request (invalid data, wrong
	// state, refund larger than the remaining amount). Retrying the same
	// request will not help.
	ErrRejected = errors.New("request rejected by platform")
	// ErrUnavailable: the platform could not be reached or answered with a
	// server error. The outcome is unknown; retry later.
	ErrUnavailable = errors.New("payment platform unavailable")
	// ErrInvalidRequest: the request failed our own checks before it was
	// sent.
	ErrInvalidRequest = errors.New("invalid payment request")
	// ErrOutcomeUnknown: the request was sent but its answer was lost (a
	// timeout, a dropped connection). The platform may have acted on it.
	// Errors that match it also match ErrUnavailable.
	ErrOutcomeUnknown = errors.New("platform answer lost: outcome unknown")
	// ErrManualRefund: the platform has no refund call in any public
	// source; the refund is done by finance in the platform's back office
	// (the refund work list).
	ErrManualRefund = errors.New("platform offers no refund call: refund by hand")
)

// HealthChecker is a Platform that can tell whether it is up (the
// XBezahldienste /status endpoint). Its answer degrades /readyz; it never
// fails it, since bookings without payment still work.
type HealthChecker interface {
	Health(ctx context.Context) error
}

// State is our normalised payment state; adapters map the platform's own
// status words onto it.
type State string

// The normalised states, in the order a payment usually moves through them.
const (
	StateCreated   State = "created"   // registered at the platform, citizen not yet on the pay page
	StateInitiated State = "initiated" // citizen started paying
	StatePaid      State = "paid"      // money authorised/captured, not yet confirmed by us
	StateConfirmed State = "confirmed" // we confirmed the payment at the platform
	StateCancelled State = "cancelled" // citizen or merchant cancelled
	StateFailed    State = "failed"    // the payment method declined
	StateExpired   State = "expired"   // timed out before completion
	StateRefunded  State = "refunded"  // paid, then fully refunded
)

// Final reports whether no further transition is expected without our
// action (a refund is our action, so paid and confirmed count as final).
func (s State) Final() bool {
	switch s {
	case StateCreated, StateInitiated:
		return false
	}
	return true
}

// Settled reports whether the citizen's money arrived (possibly refunded
// since).
func (s State) Settled() bool {
	return s == StatePaid || s == StateConfirmed || s == StateRefunded
}

// Outcome is what we tell the platform in Confirm.
type Outcome string

// Confirm outcomes, named after epay21's ConfirmPayment actions.
const (
	OutcomeConfirm Outcome = "confirm" // booking done; keep the money
	OutcomeFailure Outcome = "failure" // our side failed; platform reverses
	OutcomeCancel  Outcome = "cancel"  // we cancel the payment
)

// Valid reports whether o is one of the defined outcomes.
func (o Outcome) Valid() bool {
	return o == OutcomeConfirm || o == OutcomeFailure || o == OutcomeCancel
}

// Method is the normalised payment method the citizen chose.
type Method string

// Payment methods offered by the platforms the city uses.
const (
	MethodUnknown     Method = ""
	MethodCard        Method = "creditcard"
	MethodPayPal      Method = "paypal"
	MethodDirectDebit Method = "directdebit"
	MethodOther       Method = "other"
)

// Ref names a payment at the platform: by the platform's id, by our
// reference, or both. Adapters use what their protocol supports and say so.
type Ref struct {
	PlatformID string
	Reference  string
}

func (r Ref) String() string {
	if r.PlatformID != "" {
		return r.PlatformID
	}
	return r.Reference
}

// MaxReferenceLen is the longest reference we send: it must fit epay21's
// payment id and the 27-character SEPA purpose line, so the reference can be
// read off a bank statement.
const MaxReferenceLen = 27

var referencePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,27}$`)

// ValidReference reports whether ref is usable as our payment id on every
// platform: 1–27 characters of [A-Za-z0-9_-] (the intersection of the SEPA
// set and XBezahldienste's requestId alphabet).
func ValidReference(ref string) bool { return referencePattern.MatchString(ref) }

// CreateRequest is a payment to register at the platform.
type CreateRequest struct {
	Reference     string            // our unique payment id, see ValidReference
	Kassenzeichen string            // the treasury's reference for the receivable
	Purpose       string            // Verwendungszweck, ≤ 27 SEPA characters (see SanitizePurpose)
	Description   string            // shown on the pay page
	AmountCents   int64             // > 0
	Currency      string            // "EUR"
	ReturnURL     string            // where the citizen lands after paying (or failing)
	CancelURL     string            // where the citizen lands after cancelling
	Timeout       time.Duration     // how long the pay page stays open; rounded up to minutes
	BookingData   map[string]string // account assignment (Kassenzeichen, Haushaltsstelle, ...)
	// TaxRateBasisPoints is the service's VAT rate in hundredths of a
	// percent (1900 = 19 %); 0 for fees (hoheitliche Leistungen).
	TaxRateBasisPoints int
}

// Validate checks the request against the rules every adapter needs.
func (r CreateRequest) Validate() error {
	var errs []error
	if !ValidReference(r.Reference) {
		errs = append(errs, fmt.Errorf("reference must be 1-%d characters of [A-Za-z0-9_-]", MaxReferenceLen))
	}
	if r.AmountCents <= 0 {
		errs = append(errs, errors.New("amount must be positive"))
	}
	if r.Currency != "EUR" {
		errs = append(errs, fmt.Errorf("currency %q not supported", r.Currency))
	}
	if r.Purpose == "" || SanitizePurpose(r.Purpose) != r.Purpose {
		errs = append(errs, errors.New("purpose must be non-empty and already sanitized (SanitizePurpose)"))
	}
	for name, u := range map[string]string{"return URL": r.ReturnURL, "cancel URL": r.CancelURL} {
		if !absoluteHTTP(u) {
			errs = append(errs, fmt.Errorf("%s must be an absolute http(s) URL", name))
		}
	}
	if r.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if r.TaxRateBasisPoints < 0 || r.TaxRateBasisPoints > 10000 {
		errs = append(errs, errors.New("tax rate must be between 0 and 100 %"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, errors.Join(errs...))
	}
	return nil
}

// TimeoutMinutes is the timeout in whole minutes, rounded up, with
// defaultMinutes when none is set.
func (r CreateRequest) TimeoutMinutes(defaultMinutes int) int {
	if r.Timeout <= 0 {
		return defaultMinutes
	}
	return int((r.Timeout + time.Minute - 1) / time.Minute)
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// Created is the platform's answer to Create.
type Created struct {
	PlatformID string // the platform's id for the payment
	PayURL     string // the pay page to redirect the citizen to
	Raw        []byte // the platform's answer as received, for the inbox
}

// StatusReport is the platform's answer to Status.
type StatusReport struct {
	PlatformID    string
	Reference     string
	State         State
	PlatformState string // the platform's own status word, for logs and support
	AmountCents   int64
	RefundedCents int64
	Currency      string
	// AmountUnknown: the platform's status answer carries no amount or
	// currency (epay21); the amount is then checked against the
	// settlement report in the reconciliation, not here.
	AmountUnknown bool
	Method        Method
	PaidAt        time.Time // zero when not paid
	Raw           []byte    // the platform's answer as received, for the inbox
}

// RefundRequest asks for money back on a paid payment.
type RefundRequest struct {
	Ref         Ref
	RefundID    string // our id for the refund; platforms that support it deduplicate on it
	AmountCents int64  // > 0, at most the amount not yet refunded
	Reason      string
}

// Validate checks the refund request before it is sent.
func (r RefundRequest) Validate() error {
	switch {
	case r.Ref.PlatformID == "" && r.Ref.Reference == "":
		return fmt.Errorf("%w: refund needs a payment reference", ErrInvalidRequest)
	case r.AmountCents <= 0:
		return fmt.Errorf("%w: refund amount must be positive", ErrInvalidRequest)
	case r.RefundID != "" && !ValidReference(r.RefundID):
		return fmt.Errorf("%w: refund id must be 1-%d characters of [A-Za-z0-9_-]", ErrInvalidRequest, MaxReferenceLen)
	}
	return nil
}

// RefundRef is the platform's answer to Refund.
type RefundRef struct {
	PlatformRefundID string
	AmountCents      int64
	Raw              []byte
}
