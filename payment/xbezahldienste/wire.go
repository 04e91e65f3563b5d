package xbezahldienste

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// Status values of a payment transaction.
const (
	StatusInitial  = "INITIAL"
	StatusPayed    = "PAYED"
	StatusCanceled = "CANCELED"
	StatusFailed   = "FAILED"
)

// Payment method values.
const (
	MethodGiropay    = "GIROPAY"
	MethodPaydirect  = "PAYDIRECT"
	MethodCreditCard = "CREDITCARD"
	MethodPayPal     = "PAYPAL"
	MethodOther      = "OTHER"
)

// DirectDebitDetail is the paymentMethodDetail that marks an OTHER payment
// as SEPA direct debit (the method enum has no value of its own for it).
const DirectDebitDetail = "SEPA_DIRECT_DEBIT"

// Amount is a euro amount in cents that travels as a JSON decimal number
// ("37.5" or 37.50). It never passes through float64, so 0.1 + 0.2 stays
// exact.
type Amount int64

// MarshalJSON writes the amount as a decimal number with two places.
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(payment.FormatCents(int64(a))), nil
}

// UnmarshalJSON reads a JSON number with at most two decimal places.
func (a *Amount) UnmarshalJSON(b []byte) error {
	c, err := payment.ParseCents(string(bytes.TrimSpace(b)))
	if err != nil {
		return err
	}
	*a = Amount(c)
	return nil
}

// Item is one line item of a payment request.
type Item struct {
	ID              string            `json:"id"`
	Reference       string            `json:"reference,omitempty"`
	Description     string            `json:"description,omitempty"`
	TaxRate         Amount            `json:"taxRate"`
	Quantity        int               `json:"quantity"`
	TotalNetAmount  Amount            `json:"totalNetAmount"`
	TotalTaxAmount  Amount            `json:"totalTaxAmount"`
	SingleNetAmount Amount            `json:"singleNetAmount"`
	SingleTaxAmount Amount            `json:"singleTaxAmount"`
	BookingData     map[string]string `json:"bookingData,omitempty"`
}

// Requestor is the optional payer of a payment request. The adapter does
// not send one: the platforms take the payer's details on their pay page.
type Requestor struct {
	Name         string `json:"name,omitempty"`
	Gender       string `json:"gender,omitempty"` // M, F or D
	Organisation string `json:"organisation,omitempty"`
}

// PaymentRequest is the body of the create call, echoed in answers.
type PaymentRequest struct {
	RequestID        string `json:"requestId"`
	RequestTimestamp string `json:"requestTimestamp"`
	Currency         string `json:"currency"`
	// GrosAmount keeps the standard's own spelling of the field.
	GrosAmount  Amount     `json:"grosAmount"`
	Purpose     string     `json:"purpose"`
	Description string     `json:"description,omitempty"`
	RedirectURL string     `json:"redirectUrl"`
	Requestor   *Requestor `json:"requestor,omitempty"`
	Items       []Item     `json:"items"`
}

// PaymentInformation is the platform's view of the transaction.
type PaymentInformation struct {
	TransactionURL         string `json:"transactionUrl,omitempty"`
	TransactionRedirectURL string `json:"transactionRedirectUrl,omitempty"`
	TransactionID          string `json:"transactionId"`
	TransactionReference   string `json:"transactionReference,omitempty"`
	TransactionTimestamp   string `json:"transactionTimestamp,omitempty"`
	PaymentMethod          string `json:"paymentMethod,omitempty"`
	PaymentMethodDetail    string `json:"paymentMethodDetail,omitempty"`
	Status                 string `json:"status"`
	StatusDetail           string `json:"statusDetail,omitempty"`
	// RefundedAmount is a simulator extension: money paid back so far.
	RefundedAmount *Amount `json:"refundedAmount,omitempty"`
}

// PaymentTransaction is the answer of both create and status calls.
type PaymentTransaction struct {
	PaymentInformation PaymentInformation `json:"paymentInformation"`
	PaymentRequest     *PaymentRequest    `json:"paymentRequest,omitempty"`
}

// RefundRequest is the body of the refund extension call.
type RefundRequest struct {
	RefundID string `json:"refundId,omitempty"`
	Amount   Amount `json:"amount"`
	Reason   string `json:"reason,omitempty"`
}

// RefundResponse is the answer of the refund extension call.
type RefundResponse struct {
	RefundID         string `json:"refundId,omitempty"`
	PlatformRefundID string `json:"platformRefundId"`
	Amount           Amount `json:"amount"`
	RefundedAmount   Amount `json:"refundedAmount"`
}

// Functional codes of problem answers.
const (
	CodePaymentExists      = "PAYMENT_EXISTS" // a requestId used before
	CodeCalculationError   = "CALCULATION_ERROR"
	CodeBookingDataMissing = "BOOKING_DATA_MISSING"
	CodeValidationError    = "VALIDATION_ERROR"
	CodeNoValidOriginator  = "NO_VALID_ORIGINATOR_OR_ENDPOINT"
	CodeForbidden          = "FORBIDDEN"
	CodeUnspecified        = "UNSPECIFIED"
)

// ProblemContentType is the media type of error answers (RFC 7807).
const ProblemContentType = "application/problem+json"

// Problem is an error answer: RFC 7807 problem details with the
// standard's functionalCode.
type Problem struct {
	Type           string `json:"type,omitempty"`
	Status         int    `json:"status,omitempty"`
	Title          string `json:"title,omitempty"`
	Detail         string `json:"detail,omitempty"`
	FunctionalCode string `json:"functionalCode,omitempty"`
}

// parseProblem reads an error answer; a body that is not problem JSON
// gives an empty Problem.
func parseProblem(body []byte) Problem {
	var p Problem
	if json.Unmarshal(body, &p) != nil {
		return Problem{}
	}
	p.FunctionalCode = strings.ToUpper(strings.TrimSpace(p.FunctionalCode))
	return p
}

var errMalformed = errors.New("malformed XBezahldienste response")

func decodeStrict(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
	if d.More() {
		return fmt.Errorf("%w: trailing data", errMalformed)
	}
	return nil
}

// parseTransaction reads a create or status answer.
func parseTransaction(body []byte) (PaymentTransaction, error) {
	var tx PaymentTransaction
	if err := decodeStrict(body, &tx); err != nil {
		return tx, err
	}
	if tx.PaymentInformation.TransactionID == "" {
		return tx, fmt.Errorf("%w: no transactionId", errMalformed)
	}
	return tx, nil
}

func parseCreated(body []byte) (payment.Created, error) {
	tx, err := parseTransaction(body)
	if err != nil {
		return payment.Created{}, err
	}
	if tx.PaymentInformation.TransactionRedirectURL == "" {
		return payment.Created{}, fmt.Errorf("%w: no transactionRedirectUrl", errMalformed)
	}
	return payment.Created{
		PlatformID: tx.PaymentInformation.TransactionID,
		PayURL:     tx.PaymentInformation.TransactionRedirectURL,
		Raw:        body,
	}, nil
}

var statusMap = map[string]payment.State{
	StatusInitial:  payment.StateCreated,
	StatusPayed:    payment.StatePaid,
	StatusCanceled: payment.StateCancelled,
	StatusFailed:   payment.StateFailed,
}

func mapMethod(method, detail string) payment.Method {
	switch method {
	case "":
		return payment.MethodUnknown
	case MethodCreditCard:
		return payment.MethodCard
	case MethodPayPal:
		return payment.MethodPayPal
	}
	if strings.EqualFold(detail, DirectDebitDetail) {
		return payment.MethodDirectDebit
	}
	return payment.MethodOther
}

// parseStatus reads a status answer and maps it onto our states. The
// transactionTimestamp has no fixed format: it is read leniently, in loc
// when it has no zone, and ignored when unreadable (the flow then takes
// the time it learnt of the money).
func parseStatus(body []byte, loc *time.Location) (payment.StatusReport, error) {
	tx, err := parseTransaction(body)
	if err != nil {
		return payment.StatusReport{}, err
	}
	pi := tx.PaymentInformation
	st, ok := statusMap[strings.ToUpper(strings.TrimSpace(pi.Status))]
	if !ok {
		return payment.StatusReport{}, fmt.Errorf("%w: unknown status %q", errMalformed, pi.Status)
	}
	rep := payment.StatusReport{
		PlatformID:    pi.TransactionID,
		State:         st,
		PlatformState: pi.Status,
		Method:        mapMethod(pi.PaymentMethod, pi.PaymentMethodDetail),
		Raw:           body,
	}
	if tx.PaymentRequest != nil {
		rep.Reference = tx.PaymentRequest.RequestID
		rep.AmountCents = int64(tx.PaymentRequest.GrosAmount)
		rep.Currency = tx.PaymentRequest.Currency
	} else {
		rep.AmountUnknown = true
	}
	if pi.RefundedAmount != nil {
		rep.RefundedCents = int64(*pi.RefundedAmount)
	}
	if rep.AmountCents < 0 || rep.RefundedCents < 0 || rep.RefundedCents > rep.AmountCents {
		return payment.StatusReport{}, fmt.Errorf("%w: inconsistent amounts", errMalformed)
	}
	if st == payment.StatePaid {
		if t, ok, err := payment.ParsePlatformTime(pi.TransactionTimestamp, loc); err == nil && ok {
			rep.PaidAt = t
		}
	}
	if st == payment.StatePaid && rep.AmountCents > 0 && rep.RefundedCents == rep.AmountCents {
		rep.State = payment.StateRefunded
	}
	return rep, nil
}

func parseRefund(body []byte) (payment.RefundRef, error) {
	var r RefundResponse
	if err := decodeStrict(body, &r); err != nil {
		return payment.RefundRef{}, err
	}
	if r.PlatformRefundID == "" || r.Amount <= 0 {
		return payment.RefundRef{}, fmt.Errorf("%w: refund answer without id or amount", errMalformed)
	}
	return payment.RefundRef{PlatformRefundID: r.PlatformRefundID, AmountCents: int64(r.Amount), Raw: body}, nil
}
