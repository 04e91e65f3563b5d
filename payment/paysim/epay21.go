package paysim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The simulator's own reading of the epay21-style SOAP messages. It is
// written independently of package epay21 on purpose: the integration tests
// then check the adapter against a second implementation of the format.

const soapNS = "http://schemas.xmlsoap.org/soap/envelope/"

type simCaller struct {
	Mandant string `xml:"Mandant"`
}

type simInit struct {
	Caller  simCaller `xml:"Caller"`
	Request struct {
		ClientPayID   string `xml:"ClientPayId"`
		Kassenzeichen string `xml:"Kassenzeichen"`
		Purpose       string `xml:"Purpose"`
		Description   string `xml:"Description"`
		Amount        int64  `xml:"Amount"`
		Currency      string `xml:"Currency"`
		ReturnURL     string `xml:"ReturnUrl"`
		CancelURL     string `xml:"CancelUrl"`
		Kind          string `xml:"Kind"`
		Timeout       int    `xml:"Timeout"`
		BookingData   []struct {
			Key   string `xml:"key,attr"`
			Value string `xml:",chardata"`
		} `xml:"BookingData>Item"`
	} `xml:"Request"`
}

type simStatusReq struct {
	Caller      simCaller `xml:"Caller"`
	PayID       string    `xml:"PayId"`
	ClientPayID string    `xml:"ClientPayId"`
}

type simConfirmReq struct {
	Caller simCaller `xml:"Caller"`
	PayID  string    `xml:"PayId"`
	Action string    `xml:"Action"`
}

type simRefundReq struct {
	Caller   simCaller `xml:"Caller"`
	PayID    string    `xml:"PayId"`
	RefundID string    `xml:"RefundId"`
	Amount   int64     `xml:"Amount"`
	Reason   string    `xml:"Reason"`
}

// soapFaultError is an answer the handler turns into a SOAP fault.
type soapFaultError struct {
	server bool
	code   string
	msg    string
}

func (e *soapFaultError) Error() string { return e.code + " " + e.msg }

func faultFor(err error) *soapFaultError {
	var fe *soapFaultError
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.Is(err, errNotFound):
		return &soapFaultError{code: "P107", msg: "Payment not found"}
	case errors.Is(err, errDuplicate):
		return &soapFaultError{code: "P101", msg: err.Error()}
	case errors.Is(err, errInvalidState):
		return &soapFaultError{code: "P110", msg: err.Error()}
	case errors.Is(err, errRefundTooBig):
		return &soapFaultError{code: "P120", msg: err.Error()}
	case errors.Is(err, errInvalid):
		return &soapFaultError{code: "P100", msg: err.Error()}
	}
	return &soapFaultError{server: true, code: "S500", msg: err.Error()}
}

func (s *Server) handleSOAP(w http.ResponseWriter, r *http.Request) {
	if !s.checkAuth(w, r) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.writeFault(w, "", &soapFaultError{code: "P100", msg: "unreadable body"})
		return
	}
	op, ns, dec, start, err := soapOperation(body)
	if err != nil {
		s.writeFault(w, "", &soapFaultError{code: "P100", msg: err.Error()})
		return
	}
	var mandant string
	var resp any
	switch op {
	case "InitPayment":
		var m simInit
		if err = dec.DecodeElement(&m, start); err == nil {
			mandant = m.Caller.Mandant
			if err = s.checkMandant(mandant); err == nil {
				resp, err = s.soapInit(r, m)
			}
		}
	case "GetPaymentStatus":
		var m simStatusReq
		if err = dec.DecodeElement(&m, start); err == nil {
			if err = s.checkMandant(m.Caller.Mandant); err == nil {
				if ferr := s.statusFault(r.Context()); ferr != nil {
					err = &soapFaultError{server: true, code: "S500", msg: ferr.Error()}
				} else {
					resp, err = s.soapStatus(m)
				}
			}
		}
	case "ConfirmPayment":
		var m simConfirmReq
		if err = dec.DecodeElement(&m, start); err == nil {
			if err = s.checkMandant(m.Caller.Mandant); err == nil {
				var p Payment
				if p, err = s.confirm(APIEpay21, m.PayID, m.Action); err == nil {
					resp = struct {
						XMLName xml.Name `xml:"ConfirmPaymentResponse"`
						Status  string   `xml:"Status"`
					}{Status: epayStatus(p.State)}
				}
			}
		}
	case "RefundPayment":
		var m simRefundReq
		if err = dec.DecodeElement(&m, start); err == nil {
			if err = s.checkMandant(m.Caller.Mandant); err == nil {
				var rf Refund
				var p Payment
				if rf, p, err = s.refund(APIEpay21, m.PayID, m.Amount, m.RefundID, m.Reason); err == nil {
					resp = struct {
						XMLName          xml.Name `xml:"RefundPaymentResponse"`
						PlatformRefundID string   `xml:"PlatformRefundId"`
						Amount           int64    `xml:"Amount"`
						RefundedAmount   int64    `xml:"RefundedAmount"`
					}{PlatformRefundID: rf.ID, Amount: rf.AmountCents, RefundedAmount: p.RefundedCents}
				}
			}
		}
	default:
		err = &soapFaultError{code: "P100", msg: "unknown operation " + op}
	}
	if err != nil {
		s.writeFault(w, ns, faultFor(err))
		return
	}
	s.writeSOAP(w, http.StatusOK, ns, resp)
}

func (s *Server) checkMandant(m string) error {
	if s.cfg.Mandant != "" && m != s.cfg.Mandant {
		return &soapFaultError{code: "P100", msg: "unknown Mandant"}
	}
	return nil
}

// soapOperation positions a decoder on the operation element inside
// soap:Body.
func soapOperation(body []byte) (op, ns string, dec *xml.Decoder, start *xml.StartElement, err error) {
	dec = xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", nil, nil, fmt.Errorf("no SOAP operation: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Space == soapNS && t.Name.Local == "Header" {
				if err := dec.Skip(); err != nil {
					return "", "", nil, nil, err
				}
				depth--
				continue
			}
			if (depth == 1 && (t.Name.Space != soapNS || t.Name.Local != "Envelope")) ||
				(depth == 2 && (t.Name.Space != soapNS || t.Name.Local != "Body")) {
				return "", "", nil, nil, fmt.Errorf("unexpected element %s", t.Name.Local)
			}
			if depth == 3 {
				t := t
				return t.Name.Local, t.Name.Space, dec, &t, nil
			}
		case xml.EndElement:
			depth--
		}
	}
}

func (s *Server) soapInit(r *http.Request, m simInit) (any, error) {
	req := m.Request
	if req.Kind != "" && req.Kind != "online" {
		return nil, fmt.Errorf("%w: kind %q not supported by the simulator", errInvalid, req.Kind)
	}
	bd := map[string]string{}
	for _, it := range req.BookingData {
		bd[it.Key] = it.Value
	}
	p, err := s.create(&Payment{
		API: APIEpay21, Reference: req.ClientPayID, Kassenzeichen: req.Kassenzeichen, Purpose: req.Purpose,
		Description: req.Description, AmountCents: req.Amount, Currency: req.Currency,
		ReturnURL: req.ReturnURL, CancelURL: req.CancelURL, BookingData: bd,
	}, req.Timeout)
	if err != nil {
		return nil, err
	}
	return struct {
		XMLName xml.Name `xml:"InitPaymentResponse"`
		PayID   string   `xml:"PayId"`
		PayURL  string   `xml:"PayUrl"`
	}{PayID: p.ID, PayURL: s.baseURL(r) + "/pay/" + p.ID}, nil
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

func (s *Server) soapStatus(m simStatusReq) (any, error) {
	s.mu.Lock()
	pp, err := s.lookupLocked(APIEpay21, m.PayID, m.ClientPayID)
	var p Payment
	if err == nil {
		p = copyPayment(pp)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	type info struct {
		PayID          string `xml:"PayId"`
		ClientPayID    string `xml:"ClientPayId"`
		Kassenzeichen  string `xml:"Kassenzeichen,omitempty"`
		Status         string `xml:"Status"`
		Amount         int64  `xml:"Amount"`
		Currency       string `xml:"Currency"`
		PaymentMethod  string `xml:"PaymentMethod,omitempty"`
		PaidAt         string `xml:"PaidAt,omitempty"`
		RefundedAmount int64  `xml:"RefundedAmount"`
	}
	in := info{PayID: p.ID, ClientPayID: p.Reference, Kassenzeichen: p.Kassenzeichen, Status: epayStatus(p.State),
		Amount: p.AmountCents, Currency: p.Currency, RefundedAmount: p.RefundedCents}
	if !p.PaidAt.IsZero() {
		in.PaymentMethod = p.Method
		in.PaidAt = p.PaidAt.Format(time.RFC3339)
	}
	return struct {
		XMLName xml.Name `xml:"GetPaymentStatusResponse"`
		Payment info     `xml:"Payment"`
	}{Payment: in}, nil
}

func (s *Server) writeSOAP(w http.ResponseWriter, status int, ns string, v any) {
	inner, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, "marshal", http.StatusInternalServerError)
		return
	}
	if ns == "" {
		ns = "urn:epay21:payment"
	}
	// Put the operation namespace on the response element as the default
	// namespace, as the request did.
	if i := bytes.IndexByte(inner, '>'); i > 0 {
		inner = append(append(append([]byte{}, inner[:i]...), []byte(` xmlns="`+xmlEscape(ns)+`"`)...), inner[i:]...)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<soap:Envelope xmlns:soap="%s"><soap:Body>%s</soap:Body></soap:Envelope>`, soapNS, inner)
}

func (s *Server) writeFault(w http.ResponseWriter, ns string, f *soapFaultError) {
	fc := "soap:Client"
	if f.server {
		fc = "soap:Server"
	}
	type detailError struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}
	inner, _ := xml.Marshal(struct {
		XMLName     xml.Name    `xml:"soap:Fault"`
		FaultCode   string      `xml:"faultcode"`
		FaultString string      `xml:"faultstring"`
		Detail      detailError `xml:"detail>Error"`
	}{FaultCode: fc, FaultString: f.msg, Detail: detailError{Code: f.code, Message: f.msg}})
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<soap:Envelope xmlns:soap="%s"><soap:Body>%s</soap:Body></soap:Envelope>`, soapNS, inner)
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
