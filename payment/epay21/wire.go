package epay21

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// SOAPEnvNS is the SOAP 1.1 envelope namespace.
const SOAPEnvNS = "http://schemas.xmlsoap.org/soap/envelope/"

// DefaultNamespace is the namespace of epay21's service version 11; the
// SOAPAction of an operation is this namespace, a slash and the
// operation's name (the .NET service needs the slash).
const DefaultNamespace = "http://epay21.ekom21.de/service/v11"

// ServicePath is the path of the service on epay21's hosts (test
// "epay-qs", production "epay").
const ServicePath = "/epay21/service/v11/ePay21Service.asmx"

// Platform status words (epay21 spells "payed" and "canceled").
const (
	StatusInit      = "init"
	StatusStarted   = "started"
	StatusPayed     = "payed"
	StatusConfirmed = "confirmed"
	StatusCanceled  = "canceled"
	StatusFailed    = "failed"
)

// Payment types of the Payment block.
const (
	TypeGiropay    = "Giropay"
	TypePaydirect  = "Paydirect"
	TypeCreditcard = "Creditcard"
	TypePaypal     = "Paypal"
	TypeNone       = "none"
)

// CodeNotFound is the in-band error code of an unknown payment (P107, as a
// public client shows). Other codes are classified by their letter; see
// Error.Is.
const CodeNotFound = "P107"

// Error is an error answer of the platform: an in-band Result with OK
// false and an ErrorCode (the usual case, HTTP 200), or a SOAP fault
// (transport-level problems, requests the service cannot read). errors.Is
// maps it onto the payment package's sentinels:
//
//   - P107 → ErrNotFound (final: asking again will not find it);
//   - other P codes (payment-level errors) and soap:Client faults →
//     ErrRejected;
//   - everything else (X codes, soap:Server faults) → ErrUnavailable.
type Error struct {
	FaultCode string // "soap:Client" or "soap:Server" for faults, "" for in-band errors
	Code      string // in-band ErrorCode, e.g. "P107"
	Message   string
	Detail    string
}

func (e *Error) Error() string {
	what := e.Code
	if what == "" {
		what = e.FaultCode
	}
	msg := e.Message
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return fmt.Sprintf("epay21 error %s: %s", what, msg)
}

// Is reports which payment sentinel the error stands for.
func (e *Error) Is(target error) bool {
	switch target {
	case payment.ErrNotFound:
		return e.Code == CodeNotFound
	case payment.ErrRejected:
		if e.Code != "" {
			return e.Code != CodeNotFound && strings.HasPrefix(e.Code, "P")
		}
		return e.FaultCode != "" && strings.HasSuffix(e.FaultCode, "Client")
	case payment.ErrUnavailable:
		if e.Code != "" {
			return !strings.HasPrefix(e.Code, "P")
		}
		return !strings.HasSuffix(e.FaultCode, "Client")
	}
	return false
}

// opBlock identifies the caller in every request.
type opBlock struct {
	Mandant     string `xml:"Mandant"`
	MandantDesc string `xml:"MandantDesc"`
	App         string `xml:"App"`
	LocaleCode  string `xml:"LocaleCode"`
	ClientInfo  string `xml:"ClientInfo"`
}

type initQuery struct {
	CallerPayID    string `xml:"CallerPayID"`
	Purpose        string `xml:"Purpose"`
	OrderDesc      string `xml:"OrderDesc"`
	Amount         int64  `xml:"Amount"`
	Currency       string `xml:"Currency"`
	ReturnURL      string `xml:"ReturnURL"`
	CancelURL      string `xml:"CancelURL"`
	Art            string `xml:"Art"`
	GetQrCode      bool   `xml:"GetQrCode"`
	PaymentTimeout int    `xml:"PaymentTimeout"`
}

type initPayment struct {
	XMLName xml.Name  `xml:"InitPayment"`
	NS      string    `xml:"xmlns,attr"`
	OP      opBlock   `xml:"OP"`
	Query   initQuery `xml:"Query"`
}

type statusQuery struct {
	SearchKey  string `xml:"SearchKey"`
	SearchMode string `xml:"SearchMode"`
}

type getPaymentStatus struct {
	XMLName xml.Name    `xml:"GetPaymentStatus"`
	NS      string      `xml:"xmlns,attr"`
	OP      opBlock     `xml:"OP"`
	Query   statusQuery `xml:"Query"`
}

type confirmQuery struct {
	PayID  string `xml:"PayID"`
	Action string `xml:"Action"`
}

type confirmPayment struct {
	XMLName xml.Name     `xml:"ConfirmPayment"`
	NS      string       `xml:"xmlns,attr"`
	OP      opBlock      `xml:"OP"`
	Query   confirmQuery `xml:"Query"`
}

// resultBlock is Operation/Result of every answer.
type resultBlock struct {
	OK                 string `xml:"OK"`
	ErrorCode          string `xml:"ErrorCode"`
	ErrorMessage       string `xml:"ErrorMessage"`
	ErrorMessageDetail string `xml:"ErrorMessageDetail"`
}

// paymentBlock is the Payment of an answer.
type paymentBlock struct {
	Type            string `xml:"Type"`
	PayID           string `xml:"PayID"`
	CallerPayID     string `xml:"CallerPayID"`
	Status          string `xml:"Status"`
	StatusText      string `xml:"StatusText"`
	TimestampStart  string `xml:"TimestampStart"`
	TimestampFinish string `xml:"TimestampFinish"`
}

// opResult is the <Op>Result element inside <Op>Response.
type opResult struct {
	Operation struct {
		Result resultBlock `xml:"Result"`
		// Payment is also read inside Operation, in case an answer nests
		// it there.
		Payment *paymentBlock `xml:"Payment"`
	} `xml:"Operation"`
	Payment     *paymentBlock `xml:"Payment"`
	PayPageInfo struct {
		PayPageURL string `xml:"PayPageUrl"`
	} `xml:"PayPageInfo"`
}

func (r *opResult) payment() *paymentBlock {
	if r.Payment != nil {
		return r.Payment
	}
	return r.Operation.Payment
}

// opResponse is <Op>Response; its one child is <Op>Result.
type opResponse struct {
	Result *opResult `xml:",any"`
}

type soapFault struct {
	FaultCode   string `xml:"faultcode"`
	FaultString string `xml:"faultstring"`
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
					fc := strings.TrimSpace(f.FaultCode)
					if fc == "" {
						fc = "soap:Server"
					}
					return &Error{FaultCode: fc, Message: f.FaultString}
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

// parseResult reads the answer of operation op: its <Op>Result, or the
// in-band error (OK false) as an *Error.
func parseResult(body []byte, op string) (*opResult, error) {
	var r opResponse
	if err := decodeEnvelope(body, op+"Response", &r); err != nil {
		return nil, err
	}
	if r.Result == nil {
		return nil, fmt.Errorf("%w: %sResponse without %sResult", errMalformed, op, op)
	}
	res := r.Result.Operation.Result
	switch strings.ToLower(strings.TrimSpace(res.OK)) {
	case "true":
		return r.Result, nil
	case "false":
		code := strings.TrimSpace(res.ErrorCode)
		if code == "" {
			// An error without a code: nothing says retrying helps or
			// hurts; treat it as the platform's trouble.
			code = "X000"
		}
		return nil, &Error{Code: code, Message: res.ErrorMessage, Detail: res.ErrorMessageDetail}
	}
	return nil, fmt.Errorf("%w: %sResult without OK", errMalformed, op)
}

// parseInitResponse reads an InitPayment answer.
func parseInitResponse(body []byte) (payment.Created, error) {
	r, err := parseResult(body, "InitPayment")
	if err != nil {
		return payment.Created{}, err
	}
	p := r.payment()
	url := strings.TrimSpace(r.PayPageInfo.PayPageURL)
	if p == nil || strings.TrimSpace(p.PayID) == "" || url == "" {
		return payment.Created{}, fmt.Errorf("%w: InitPayment answer without PayID or PayPageUrl", errMalformed)
	}
	return payment.Created{PlatformID: strings.TrimSpace(p.PayID), PayURL: url, Raw: body}, nil
}

var statusMap = map[string]payment.State{
	StatusInit:      payment.StateCreated,
	StatusStarted:   payment.StateInitiated,
	StatusPayed:     payment.StatePaid,
	StatusConfirmed: payment.StateConfirmed,
	StatusCanceled:  payment.StateCancelled,
	StatusFailed:    payment.StateFailed,
}

// methodOf maps the Payment Type. Giropay and Paydirect (online bank
// transfers) have no method of their own here.
func methodOf(typ string) payment.Method {
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "", strings.ToLower(TypeNone):
		return payment.MethodUnknown
	case strings.ToLower(TypeCreditcard):
		return payment.MethodCard
	case strings.ToLower(TypePaypal):
		return payment.MethodPayPal
	}
	return payment.MethodOther
}

// parseStatusResponse reads a GetPaymentStatus answer and maps it onto
// our states. The Payment block has no amount: the report says so
// (AmountUnknown). Timestamps without a zone are read in loc.
func parseStatusResponse(body []byte, loc *time.Location) (payment.StatusReport, error) {
	r, err := parseResult(body, "GetPaymentStatus")
	if err != nil {
		return payment.StatusReport{}, err
	}
	p := r.payment()
	if p == nil {
		return payment.StatusReport{}, fmt.Errorf("%w: status answer without Payment", errMalformed)
	}
	word := strings.ToLower(strings.TrimSpace(p.Status))
	st, ok := statusMap[word]
	if !ok {
		return payment.StatusReport{}, fmt.Errorf("%w: unknown status %q", errMalformed, p.Status)
	}
	if strings.TrimSpace(p.PayID) == "" {
		return payment.StatusReport{}, fmt.Errorf("%w: Payment without PayID", errMalformed)
	}
	rep := payment.StatusReport{
		PlatformID:    strings.TrimSpace(p.PayID),
		Reference:     strings.TrimSpace(p.CallerPayID),
		State:         st,
		PlatformState: word,
		AmountUnknown: true,
		Method:        methodOf(p.Type),
		Raw:           body,
	}
	if st.Settled() {
		// An unreadable time does not make the money less real: the flow
		// then takes the time it learnt of it.
		if t, ok, err := payment.ParsePlatformTime(p.TimestampFinish, loc); err == nil && ok {
			rep.PaidAt = t
		}
		if rep.Method == payment.MethodUnknown {
			rep.Method = payment.MethodOther
		}
	}
	return rep, nil
}

// parseConfirmResponse reads a ConfirmPayment answer.
func parseConfirmResponse(body []byte) error {
	_, err := parseResult(body, "ConfirmPayment")
	return err
}
