package epay21

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// SOAPEnvNS is the SOAP 1.1 envelope namespace.
const SOAPEnvNS = "http://schemas.xmlsoap.org/soap/envelope/"

// DefaultNamespace is the namespace of the operation elements unless
// Config.Namespace says otherwise. Responses are matched by local name only,
// so a platform answering in another namespace still parses.
const DefaultNamespace = "urn:epay21:payment"

// Platform status words (epay21 spells "payed" and "canceled").
const (
	StatusInit      = "init"
	StatusStarted   = "started"
	StatusPayed     = "payed"
	StatusConfirmed = "confirmed"
	StatusCanceled  = "canceled"
	StatusFailed    = "failed"
)

// Error codes carried in SOAP fault details. P107 is the platform's code for
// an unknown payment; the others are the codes this adapter and the
// simulator agree on.
const (
	CodeNotFound       = "P107" // payment not found
	CodeInvalidRequest = "P100" // request failed validation
	CodeDuplicate      = "P101" // ClientPayId already used for another payment
	CodeInvalidState   = "P110" // operation not allowed in the payment's state
	CodeRefundTooLarge = "P120" // refund exceeds the amount not yet refunded
	CodeInternal       = "S500" // platform-side failure
)

// Error is a SOAP fault from the platform. errors.Is maps it onto the
// payment package's sentinels: P107 → ErrNotFound, other P codes and
// soap:Client faults → ErrRejected, everything else → ErrUnavailable.
type Error struct {
	FaultCode string // e.g. "soap:Client", "soap:Server"
	Code      string // detail error code, e.g. "P107"
	Message   string
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("epay21 fault %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("epay21 fault %s: %s", e.FaultCode, e.Message)
}

// Is reports which payment sentinel the fault stands for.
func (e *Error) Is(target error) bool {
	switch target {
	case payment.ErrNotFound:
		return e.Code == CodeNotFound
	case payment.ErrRejected:
		if e.Code != "" {
			return e.Code != CodeNotFound && e.Code[0] == 'P'
		}
		return localPart(e.FaultCode) == "Client"
	case payment.ErrUnavailable:
		if e.Code != "" {
			return e.Code[0] != 'P'
		}
		return localPart(e.FaultCode) != "Client"
	}
	return false
}

func localPart(qname string) string {
	for i := len(qname) - 1; i >= 0; i-- {
		if qname[i] == ':' {
			return qname[i+1:]
		}
	}
	return qname
}

type caller struct {
	Mandant string `xml:"Mandant"`
	App     string `xml:"App"`
	Locale  string `xml:"Locale"`
}

type bookingItem struct {
	Key   string `xml:"key,attr"`
	Value string `xml:",chardata"`
}

type initRequestBlock struct {
	ClientPayID   string        `xml:"ClientPayId"`
	Kassenzeichen string        `xml:"Kassenzeichen,omitempty"`
	Purpose       string        `xml:"Purpose"`
	Description   string        `xml:"Description"`
	Amount        int64         `xml:"Amount"`
	Currency      string        `xml:"Currency"`
	ReturnURL     string        `xml:"ReturnUrl"`
	CancelURL     string        `xml:"CancelUrl"`
	Kind          string        `xml:"Kind"`
	Timeout       int           `xml:"Timeout"`
	BookingData   []bookingItem `xml:"BookingData>Item,omitempty"`
}

type initPayment struct {
	XMLName xml.Name         `xml:"InitPayment"`
	NS      string           `xml:"xmlns,attr"`
	Caller  caller           `xml:"Caller"`
	Request initRequestBlock `xml:"Request"`
}

type initPaymentResponse struct {
	XMLName xml.Name `xml:"InitPaymentResponse"`
	PayID   string   `xml:"PayId"`
	PayURL  string   `xml:"PayUrl"`
}

type getPaymentStatus struct {
	XMLName     xml.Name `xml:"GetPaymentStatus"`
	NS          string   `xml:"xmlns,attr"`
	Caller      caller   `xml:"Caller"`
	PayID       string   `xml:"PayId,omitempty"`
	ClientPayID string   `xml:"ClientPayId,omitempty"`
}

type paymentInfo struct {
	PayID          string `xml:"PayId"`
	ClientPayID    string `xml:"ClientPayId"`
	Kassenzeichen  string `xml:"Kassenzeichen"`
	Status         string `xml:"Status"`
	Amount         int64  `xml:"Amount"`
	Currency       string `xml:"Currency"`
	PaymentMethod  string `xml:"PaymentMethod"`
	PaidAt         string `xml:"PaidAt"`
	RefundedAmount int64  `xml:"RefundedAmount"`
}

type getPaymentStatusResponse struct {
	XMLName xml.Name    `xml:"GetPaymentStatusResponse"`
	Payment paymentInfo `xml:"Payment"`
}

type confirmPayment struct {
	XMLName xml.Name `xml:"ConfirmPayment"`
	NS      string   `xml:"xmlns,attr"`
	Caller  caller   `xml:"Caller"`
	PayID   string   `xml:"PayId"`
	Action  string   `xml:"Action"`
}

type confirmPaymentResponse struct {
	XMLName xml.Name `xml:"ConfirmPaymentResponse"`
	Status  string   `xml:"Status"`
}

type refundPayment struct {
	XMLName  xml.Name `xml:"RefundPayment"`
	NS       string   `xml:"xmlns,attr"`
	Caller   caller   `xml:"Caller"`
	PayID    string   `xml:"PayId"`
	RefundID string   `xml:"RefundId,omitempty"`
	Amount   int64    `xml:"Amount"`
	Reason   string   `xml:"Reason,omitempty"`
}

type refundPaymentResponse struct {
	XMLName          xml.Name `xml:"RefundPaymentResponse"`
	PlatformRefundID string   `xml:"PlatformRefundId"`
	Amount           int64    `xml:"Amount"`
	RefundedAmount   int64    `xml:"RefundedAmount"`
}

type soapFault struct {
	FaultCode   string `xml:"faultcode"`
	FaultString string `xml:"faultstring"`
	Detail      struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
	} `xml:"detail"`
}

const envelopeHead = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<soap:Envelope xmlns:soap="` + SOAPEnvNS + `"><soap:Body>`
const envelopeTail = `</soap:Body></soap:Envelope>`

// marshalEnvelope wraps the operation element v in a SOAP 1.1 envelope.
func marshalEnvelope(v any) ([]byte, error) {
	inner, err := xml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal soap body: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(envelopeHead)
	b.Write(inner)
	b.WriteString(envelopeTail)
	return b.Bytes(), nil
}

// errMalformed reports an answer that is not the SOAP we expect.
var errMalformed = errors.New("malformed SOAP response")

// decodeEnvelope finds the first element inside soap:Body. A soap:Fault
// becomes an *Error; otherwise the element must have the local name
// wantLocal and is decoded into out. Walking tokens rather than using
// innerxml keeps namespace prefixes declared on the Envelope in scope.
func decodeEnvelope(body []byte, wantLocal string, out any) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return fmt.Errorf("%w: no element in soap:Body", errMalformed)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if t.Name.Space != SOAPEnvNS || t.Name.Local != "Envelope" {
					return fmt.Errorf("%w: root is %s, not soap:Envelope", errMalformed, t.Name.Local)
				}
			case 2:
				if t.Name.Space == SOAPEnvNS && t.Name.Local == "Header" {
					if err := d.Skip(); err != nil {
						return fmt.Errorf("%w: %w", errMalformed, err)
					}
					depth--
					continue
				}
				if t.Name.Space != SOAPEnvNS || t.Name.Local != "Body" {
					return fmt.Errorf("%w: unexpected %s in envelope", errMalformed, t.Name.Local)
				}
			case 3:
				if t.Name.Space == SOAPEnvNS && t.Name.Local == "Fault" {
					var f soapFault
					if err := d.DecodeElement(&f, &t); err != nil {
						return fmt.Errorf("%w: fault: %w", errMalformed, err)
					}
					msg := f.Detail.Message
					if msg == "" {
						msg = f.FaultString
					}
					return &Error{FaultCode: f.FaultCode, Code: f.Detail.Code, Message: msg}
				}
				if t.Name.Local != wantLocal {
					return fmt.Errorf("%w: got %s, want %s", errMalformed, t.Name.Local, wantLocal)
				}
				if err := d.DecodeElement(out, &t); err != nil {
					return fmt.Errorf("%w: %s: %w", errMalformed, wantLocal, err)
				}
				return nil
			}
		case xml.EndElement:
			depth--
		}
	}
}

// parseInitResponse reads an InitPayment answer.
func parseInitResponse(body []byte) (payment.Created, error) {
	var r initPaymentResponse
	if err := decodeEnvelope(body, "InitPaymentResponse", &r); err != nil {
		return payment.Created{}, err
	}
	if r.PayID == "" || r.PayURL == "" {
		return payment.Created{}, fmt.Errorf("%w: InitPaymentResponse without PayId or PayUrl", errMalformed)
	}
	return payment.Created{PlatformID: r.PayID, PayURL: r.PayURL, Raw: body}, nil
}

var statusMap = map[string]payment.State{
	StatusInit:      payment.StateCreated,
	StatusStarted:   payment.StateInitiated,
	StatusPayed:     payment.StatePaid,
	StatusConfirmed: payment.StateConfirmed,
	StatusCanceled:  payment.StateCancelled,
	StatusFailed:    payment.StateFailed,
}

var methodMap = map[string]payment.Method{
	"creditcard":  payment.MethodCard,
	"paypal":      payment.MethodPayPal,
	"directdebit": payment.MethodDirectDebit,
}

// parseStatusResponse reads a GetPaymentStatus answer and maps it onto our
// states. A fully refunded payment is reported as refunded whatever the
// platform word, because the money is back with the citizen.
func parseStatusResponse(body []byte) (payment.StatusReport, error) {
	var r getPaymentStatusResponse
	if err := decodeEnvelope(body, "GetPaymentStatusResponse", &r); err != nil {
		return payment.StatusReport{}, err
	}
	p := r.Payment
	st, ok := statusMap[p.Status]
	if !ok {
		return payment.StatusReport{}, fmt.Errorf("%w: unknown status %q", errMalformed, p.Status)
	}
	if p.PayID == "" || p.Amount < 0 || p.RefundedAmount < 0 || p.RefundedAmount > p.Amount {
		return payment.StatusReport{}, fmt.Errorf("%w: inconsistent payment block", errMalformed)
	}
	rep := payment.StatusReport{
		PlatformID:    p.PayID,
		Reference:     p.ClientPayID,
		State:         st,
		PlatformState: p.Status,
		AmountCents:   p.Amount,
		RefundedCents: p.RefundedAmount,
		Currency:      p.Currency,
		Raw:           body,
	}
	if p.PaymentMethod != "" {
		rep.Method = methodMap[p.PaymentMethod]
		if rep.Method == payment.MethodUnknown {
			rep.Method = payment.MethodOther
		}
	}
	if p.PaidAt != "" {
		t, err := time.Parse(time.RFC3339, p.PaidAt)
		if err != nil {
			return payment.StatusReport{}, fmt.Errorf("%w: PaidAt: %w", errMalformed, err)
		}
		rep.PaidAt = t
	}
	if rep.State.Settled() && p.Amount > 0 && p.RefundedAmount == p.Amount {
		rep.State = payment.StateRefunded
	}
	return rep, nil
}

func parseConfirmResponse(body []byte) error {
	var r confirmPaymentResponse
	return decodeEnvelope(body, "ConfirmPaymentResponse", &r)
}

func parseRefundResponse(body []byte) (payment.RefundRef, error) {
	var r refundPaymentResponse
	if err := decodeEnvelope(body, "RefundPaymentResponse", &r); err != nil {
		return payment.RefundRef{}, err
	}
	if r.PlatformRefundID == "" || r.Amount <= 0 {
		return payment.RefundRef{}, fmt.Errorf("%w: RefundPaymentResponse without id or amount", errMalformed)
	}
	return payment.RefundRef{PlatformRefundID: r.PlatformRefundID, AmountCents: r.Amount, Raw: body}, nil
}
