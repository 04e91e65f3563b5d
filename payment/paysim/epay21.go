package paysim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The simulator's own reading of epay21's SOAP messages (service v11). It
// is written independently of package epay21 on purpose: the integration
// tests then check the adapter against a second implementation of the
// format. It enforces what the real service needs: the SOAPAction
// "<namespace>/<operation>", the v11 namespace on the operation element,
// the OP and Query blocks.

const soapNS = "http://schemas.xmlsoap.org/soap/envelope/"

// Epay21Namespace is the namespace of epay21's service version 11.
const Epay21Namespace = "http://epay21.ekom21.de/service/v11"

// Epay21Path is where the simulator serves epay21's SOAP interface, the
// path of the real service.
const Epay21Path = "/epay21/service/v11/ePay21Service.asmx"

// In-band error codes of the simulator's epay21 wire. P107 is the real
// service's code for an unknown payment; the others are the simulator's
// own (no public source lists more).
const (
	epayNotFound     = "P107"
	epayInvalid      = "P100"
	epayDuplicate    = "P101"
	epayInvalidState = "P110"
	epayInternal     = "X101"
)

type simOP struct {
	Mandant     string `xml:"OP>Mandant"`
	MandantDesc string `xml:"OP>MandantDesc"`
	App         string `xml:"OP>App"`
	LocaleCode  string `xml:"OP>LocaleCode"`
	ClientInfo  string `xml:"OP>ClientInfo"`
}

type simInit struct {
	simOP
	CallerPayID    string  `xml:"Query>CallerPayID"`
	Purpose        string  `xml:"Query>Purpose"`
	OrderDesc      string  `xml:"Query>OrderDesc"`
	Amount         int64   `xml:"Query>Amount"`
	Currency       string  `xml:"Query>Currency"`
	ReturnURL      string  `xml:"Query>ReturnURL"`
	CancelURL      string  `xml:"Query>CancelURL"`
	Art            string  `xml:"Query>Art"`
	GetQrCode      *string `xml:"Query>GetQrCode"`
	PaymentTimeout int     `xml:"Query>PaymentTimeout"`
}

type simStatusReq struct {
	simOP
	SearchKey  string `xml:"Query>SearchKey"`
	SearchMode string `xml:"Query>SearchMode"`
}

type simConfirmReq struct {
	simOP
	PayID  string `xml:"Query>PayID"`
	Action string `xml:"Query>Action"`
}

// epayError is an in-band error answer (OK false).
type epayError struct {
	code, msg string
}

func (e *epayError) Error() string { return e.code + " " + e.msg }

func epayErrorFor(err error) *epayError {
	var ee *epayError
	switch {
	case errors.As(err, &ee):
		return ee
	case errors.Is(err, errNotFound):
		return &epayError{epayNotFound, "Zahlung nicht gefunden"}
	case errors.Is(err, errDuplicate):
		return &epayError{epayDuplicate, err.Error()}
	case errors.Is(err, errInvalidState):
		return &epayError{epayInvalidState, err.Error()}
	case errors.Is(err, errInvalid):
		return &epayError{epayInvalid, err.Error()}
	}
	return &epayError{epayInternal, err.Error()}
}

// soapOps are the operations the simulator knows.
var soapOps = map[string]bool{"InitPayment": true, "GetPaymentStatus": true, "ConfirmPayment": true}

func (s *Server) handleSOAP(w http.ResponseWriter, r *http.Request) {
	if !s.checkAuth(w, r) {
		return
	}
	// The .NET service routes by the SOAPAction header: a wrong one is a
	// client fault before the body is read.
	action := strings.Trim(strings.TrimSpace(r.Header.Get("SOAPAction")), `"`)
	op, ok := strings.CutPrefix(action, Epay21Namespace+"/")
	if !ok || !soapOps[op] {
		s.writeFault(w, "soap:Client", "System.Web.Services.Protocols.SoapException: Server did not recognize the value of HTTP Header SOAPAction: "+action+".")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.writeFault(w, "soap:Client", "Server was unable to read request.")
		return
	}
	name, dec, start, err := soapOperation(body)
	if err != nil {
		s.writeFault(w, "soap:Client", "Server was unable to read request. ---> "+err.Error())
		return
	}
	if name.Local != op || name.Space != Epay21Namespace {
		s.writeFault(w, "soap:Client", fmt.Sprintf("Server did not recognize the request element {%s}%s for SOAPAction %s.", name.Space, name.Local, action))
		return
	}
	var res epayResult
	switch op {
	case "InitPayment":
		var m simInit
		if err = dec.DecodeElement(&m, start); err == nil {
			if err = s.checkOP(m.simOP); err == nil {
				res, err = s.soapInit(r, m)
			}
		}
	case "GetPaymentStatus":
		var m simStatusReq
		if err = dec.DecodeElement(&m, start); err == nil {
			if err = s.checkOP(m.simOP); err == nil {
				if ferr := s.statusFault(r.Context()); ferr != nil {
					s.writeFault(w, "soap:Server", "Server was unable to process request. ---> "+ferr.Error())
					return
				}
				res, err = s.soapStatus(m)
			}
		}
	case "ConfirmPayment":
		var m simConfirmReq
		if err = dec.DecodeElement(&m, start); err == nil {
			if err = s.checkOP(m.simOP); err == nil {
				var p Payment
				if p, err = s.confirm(APIEpay21, m.PayID, m.Action); err == nil {
					res.Payment = epayPayment(p)
				}
			}
		}
	}
	if err != nil {
		e := epayErrorFor(err)
		res = epayResult{Operation: epayOperation{Result: epayOK{OK: "false", ErrorCode: e.code, ErrorMessage: e.msg}}}
	} else {
		res.Operation.Result.OK = "true"
	}
	s.writeSOAP(w, op, res)
}

func (s *Server) checkOP(op simOP) error {
	switch {
	case s.cfg.Mandant != "" && op.Mandant != s.cfg.Mandant:
		return &epayError{epayInvalid, "Mandant unbekannt"}
	case op.App == "":
		return &epayError{epayInvalid, "App fehlt"}
	}
	return nil
}

// soapOperation positions a decoder on the operation element inside
// soap:Body.
func soapOperation(body []byte) (name xml.Name, dec *xml.Decoder, start *xml.StartElement, err error) {
	dec = xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.Name{}, nil, nil, fmt.Errorf("no SOAP operation: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Space == soapNS && t.Name.Local == "Header" {
				if err := dec.Skip(); err != nil {
					return xml.Name{}, nil, nil, err
				}
				depth--
				continue
			}
			if (depth == 1 && (t.Name.Space != soapNS || t.Name.Local != "Envelope")) ||
				(depth == 2 && (t.Name.Space != soapNS || t.Name.Local != "Body")) {
				return xml.Name{}, nil, nil, fmt.Errorf("unexpected element %s", t.Name.Local)
			}
			if depth == 3 {
				t := t
				return t.Name, dec, &t, nil
			}
		case xml.EndElement:
			depth--
		}
	}
}

// sepaPurpose is the SEPA character set the service accepts in Purpose.
func sepaPurpose(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("/-?:().,'+ ", r):
		default:
			return false
		}
	}
	return true
}

func (s *Server) soapInit(r *http.Request, m simInit) (epayResult, error) {
	switch {
	case m.Art != "online":
		return epayResult{}, fmt.Errorf("%w: Art %q not supported by the simulator", errInvalid, m.Art)
	case m.GetQrCode == nil || (*m.GetQrCode != "true" && *m.GetQrCode != "false"):
		return epayResult{}, fmt.Errorf("%w: GetQrCode must be sent (true or false)", errInvalid)
	case !sepaPurpose(m.Purpose) || len(m.Purpose) == 0 || len(m.Purpose) > 27:
		return epayResult{}, fmt.Errorf("%w: Purpose must be 1-27 SEPA characters", errInvalid)
	case m.PaymentTimeout < 0:
		return epayResult{}, fmt.Errorf("%w: PaymentTimeout", errInvalid)
	}
	p, err := s.create(&Payment{
		API: APIEpay21, Reference: m.CallerPayID, Purpose: m.Purpose, Kassenzeichen: kassenzeichenOf(m.Purpose),
		Description: m.OrderDesc, AmountCents: m.Amount, Currency: m.Currency,
		ReturnURL: m.ReturnURL, CancelURL: m.CancelURL,
	}, m.PaymentTimeout)
	if err != nil {
		return epayResult{}, err
	}
	res := epayResult{Payment: epayPayment(p)}
	res.PayPageInfo = &epayPayPage{PayPageURL: s.baseURL(r) + "/pay/" + p.ID}
	return res, nil
}

// kassenzeichenOf takes the first word of the purpose: epay21 has no
// field of its own for the Kassenzeichen, the city puts it first.
func kassenzeichenOf(purpose string) string {
	f := strings.Fields(purpose)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func epayStatus(state string) string {
	switch state {
	case StateInit:
		return "init"
	case StateStarted:
		return "started"
	case StatePaid:
		return "payed"
	case StateConfirmed:
		return "confirmed"
	case StateFailed:
		return "failed"
	}
	return "canceled" // cancelled and expired
}

func epayType(method string) string {
	switch method {
	case MethodCreditCard:
		return "Creditcard"
	case MethodPayPal:
		return "Paypal"
	case MethodDirectDebit:
		// No public source names a type for it; the closest is the
		// online bank transfer.
		return "Paydirect"
	}
	return "none"
}

// epayTime writes a time as the service does: local time without a zone,
// hundredths of a second; the zero time means unset.
func (s *Server) epayTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00"
	}
	return t.In(s.cfg.Location).Format("2006-01-02T15:04:05.00")
}

type epayOK struct {
	OK                 string `xml:"OK"`
	ErrorCode          string `xml:"ErrorCode,omitempty"`
	ErrorMessage       string `xml:"ErrorMessage,omitempty"`
	ErrorMessageDetail string `xml:"ErrorMessageDetail,omitempty"`
}

type epayOperation struct {
	Result epayOK `xml:"Result"`
}

type epayPaymentBlock struct {
	Type            string `xml:"Type"`
	PayID           string `xml:"PayID"`
	CallerPayID     string `xml:"CallerPayID"`
	Status          string `xml:"Status"`
	StatusText      string `xml:"StatusText"`
	TimestampStart  string `xml:"TimestampStart"`
	TimestampFinish string `xml:"TimestampFinish"`
}

type epayPayPage struct {
	PayPageURL string `xml:"PayPageUrl"`
}

// epayResult is the <Op>Result element of every answer; writeSOAP names
// it.
type epayResult struct {
	XMLName     xml.Name
	Operation   epayOperation     `xml:"Operation"`
	Payment     *epayPaymentBlock `xml:"Payment,omitempty"`
	PayPageInfo *epayPayPage      `xml:"PayPageInfo,omitempty"`
}

var statusTexts = map[string]string{
	"init": "Zahlung angelegt", "started": "Zahlung begonnen", "payed": "Zahlung erfolgreich",
	"confirmed": "Zahlung bestätigt", "canceled": "Zahlung abgebrochen", "failed": "Zahlung fehlgeschlagen",
}

// epayPayment is filled in by the handler, which knows the zone.
func epayPayment(p Payment) *epayPaymentBlock {
	st := epayStatus(p.State)
	return &epayPaymentBlock{Type: epayType(p.Method), PayID: p.ID, CallerPayID: p.Reference, Status: st,
		StatusText: statusTexts[st], TimestampStart: p.CreatedAt.Format(time.RFC3339Nano), TimestampFinish: p.PaidAt.Format(time.RFC3339Nano)}
}

func (s *Server) soapStatus(m simStatusReq) (epayResult, error) {
	if m.SearchMode != "normal" || m.SearchKey == "" {
		return epayResult{}, fmt.Errorf("%w: SearchKey and SearchMode normal required", errInvalid)
	}
	s.mu.Lock()
	pp, err := s.lookupLocked(APIEpay21, "", m.SearchKey)
	var p Payment
	if err == nil {
		p = copyPayment(pp)
	}
	s.mu.Unlock()
	if err != nil {
		return epayResult{}, err
	}
	return epayResult{Payment: epayPayment(p)}, nil
}

func (s *Server) writeSOAP(w http.ResponseWriter, op string, res epayResult) {
	if res.Payment != nil {
		// Times travel as the service writes them: local, without a zone.
		for _, ts := range []*string{&res.Payment.TimestampStart, &res.Payment.TimestampFinish} {
			t, _ := time.Parse(time.RFC3339Nano, *ts)
			*ts = s.epayTime(t)
		}
	}
	res.XMLName = xml.Name{Local: op + "Result"}
	inner, err := xml.Marshal(struct {
		XMLName xml.Name
		NS      string `xml:"xmlns,attr"`
		Result  epayResult
	}{XMLName: xml.Name{Local: op + "Response"}, NS: Epay21Namespace, Result: res})
	if err != nil {
		http.Error(w, "marshal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<soap:Envelope xmlns:soap="%s"><soap:Body>%s</soap:Body></soap:Envelope>`, soapNS, inner)
}

// writeFault answers a SOAP 1.1 fault with HTTP 500, as .NET does.
func (s *Server) writeFault(w http.ResponseWriter, code, msg string) {
	inner, _ := xml.Marshal(struct {
		XMLName     xml.Name `xml:"soap:Fault"`
		FaultCode   string   `xml:"faultcode"`
		FaultString string   `xml:"faultstring"`
	}{FaultCode: code, FaultString: msg})
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<soap:Envelope xmlns:soap="%s"><soap:Body>%s</soap:Body></soap:Envelope>`, soapNS, inner)
}
