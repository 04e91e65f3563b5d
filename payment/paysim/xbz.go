package paysim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"

	"github.com/digitale-verwaltung/termin/payment/xbezahldienste"
)

// The simulator's XBezahldienste, to the standard's letter: problem+json
// errors with a functionalCode, the purpose and description patterns, 200
// on create, PAYMENT_EXISTS for a reused requestId, FAILED for a payment
// that timed out, the /status health endpoint. The refund call is an
// extension served only with Config.Extensions.

var (
	idPattern          = regexp.MustCompile(`^[\w\d-]{1,36}$`)
	purposePattern     = regexp.MustCompile(`^[\w\d\s-]+$`)
	descriptionPattern = regexp.MustCompile(`^[\w\d\s\-,\.\x{00C0}-\x{017F}]+$`)
)

// XBezahldienstePrefix is where the simulator serves XBezahldienste.
const XBezahldienstePrefix = "/xbezahldienste"

func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", xbezahldienste.ProblemContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(xbezahldienste.Problem{
		Type: "about:blank", Status: status, Title: http.StatusText(status), Detail: detail, FunctionalCode: code,
	})
}

func xbzError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errNotFound):
		problem(w, http.StatusNotFound, xbezahldienste.CodeUnspecified, err.Error())
	case errors.Is(err, errDuplicate):
		problem(w, http.StatusBadRequest, xbezahldienste.CodePaymentExists, err.Error())
	case errors.Is(err, errInvalidState), errors.Is(err, errRefundTooBig), errors.Is(err, errInvalid):
		problem(w, http.StatusBadRequest, xbezahldienste.CodeValidationError, err.Error())
	default:
		problem(w, http.StatusInternalServerError, xbezahldienste.CodeUnspecified, err.Error())
	}
}

// xbzCaller checks the caller's authentication and ids.
func (s *Server) xbzCaller(w http.ResponseWriter, r *http.Request) bool {
	if !s.xbzAuthenticated(r) {
		problem(w, http.StatusForbidden, xbezahldienste.CodeForbidden, "authentication failed")
		return false
	}
	if (s.cfg.OriginatorID != "" && r.PathValue("originator") != s.cfg.OriginatorID) ||
		(s.cfg.EndPointID != "" && r.PathValue("endpoint") != s.cfg.EndPointID) {
		problem(w, http.StatusBadRequest, xbezahldienste.CodeNoValidOriginator, "unknown originator or endpoint")
		return false
	}
	return true
}

func (s *Server) handleXBZHealth(w http.ResponseWriter, r *http.Request) {
	if !s.xbzCaller(w, r) {
		return
	}
	if s.currentFaults().PlatformDown {
		problem(w, http.StatusServiceUnavailable, xbezahldienste.CodeUnspecified, "maintenance")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// validateXBZ checks a create body against the standard.
func validateXBZ(req xbezahldienste.PaymentRequest) (code, detail string) {
	switch {
	case !idPattern.MatchString(req.RequestID):
		return xbezahldienste.CodeValidationError, "requestId must be 1-36 of [\\w\\d-]"
	case req.Currency != "EUR":
		return xbezahldienste.CodeValidationError, "currency must be EUR"
	case req.GrosAmount <= 0 || req.GrosAmount > 99999900:
		return xbezahldienste.CodeValidationError, "grosAmount must be 0.01-999999"
	case !purposePattern.MatchString(req.Purpose) || len([]rune(req.Purpose)) > 27:
		return xbezahldienste.CodeValidationError, "purpose must match ^[\\w\\d\\s-]+$ with at most 27 characters"
	case req.Description != "" && (!descriptionPattern.MatchString(req.Description) || len([]rune(req.Description)) > 250):
		return xbezahldienste.CodeValidationError, "description must match ^[\\w\\d\\s-,\\.\\u00C0-\\u017F]+$ with at most 250 characters"
	case !absURL(req.RedirectURL):
		return xbezahldienste.CodeValidationError, "redirectUrl"
	case len(req.Items) == 0 || len(req.Items) > 99:
		return xbezahldienste.CodeValidationError, "items: 1-99"
	case req.Requestor != nil && req.Requestor.Gender != "" && req.Requestor.Gender != "M" && req.Requestor.Gender != "F" && req.Requestor.Gender != "D":
		return xbezahldienste.CodeValidationError, "requestor.gender must be M, F or D"
	}
	var sum int64
	for _, it := range req.Items {
		if it.TaxRate < 0 || it.TaxRate > 10000 || it.Quantity < 1 {
			return xbezahldienste.CodeValidationError, "item taxRate (0-100) or quantity"
		}
		if len(it.BookingData) == 0 {
			return xbezahldienste.CodeBookingDataMissing, "item " + it.ID + " has no bookingData"
		}
		if it.TotalNetAmount+it.TotalTaxAmount <= 0 || it.SingleNetAmount*xbezahldienste.Amount(it.Quantity) != it.TotalNetAmount ||
			it.SingleTaxAmount*xbezahldienste.Amount(it.Quantity) != it.TotalTaxAmount {
			return xbezahldienste.CodeCalculationError, "item " + it.ID + ": single and total amounts disagree"
		}
		sum += int64(it.TotalNetAmount + it.TotalTaxAmount)
	}
	if sum != int64(req.GrosAmount) {
		return xbezahldienste.CodeCalculationError, "grosAmount is not the sum of the items"
	}
	return "", ""
}

func (s *Server) handleXBZCreate(w http.ResponseWriter, r *http.Request) {
	if !s.xbzCaller(w, r) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		problem(w, http.StatusBadRequest, xbezahldienste.CodeValidationError, "unreadable body")
		return
	}
	var req xbezahldienste.PaymentRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		problem(w, http.StatusBadRequest, xbezahldienste.CodeValidationError, err.Error())
		return
	}
	if code, detail := validateXBZ(req); code != "" {
		problem(w, http.StatusBadRequest, code, detail)
		return
	}
	bd := map[string]string{}
	for k, v := range req.Items[0].BookingData {
		bd[k] = v
	}
	kz := bd["Kassenzeichen"]
	if kz == "" {
		kz = req.Items[0].Reference
	}
	p := &Payment{
		API: APIXBezahldienste, Reference: req.RequestID, Kassenzeichen: kz, Purpose: req.Purpose,
		Description: req.Description, AmountCents: int64(req.GrosAmount), Currency: req.Currency,
		// The standard has one redirect URL for every outcome.
		ReturnURL: req.RedirectURL, CancelURL: req.RedirectURL, BookingData: bd,
		xbzRequest: raw,
	}
	created, err := s.createOnce(p, 0)
	if err != nil {
		xbzError(w, err)
		return
	}
	if s.takeLoseCreateAnswer() {
		// The payment exists; its answer is lost on the way.
		s.dropConnection(w)
		return
	}
	writeJSON(w, http.StatusOK, s.xbzTransaction(r, created))
}

func (s *Server) xbzTransaction(r *http.Request, p Payment) xbezahldienste.PaymentTransaction {
	s.mu.Lock()
	raw := s.payments[p.ID].xbzRequest
	s.mu.Unlock()
	var req xbezahldienste.PaymentRequest
	_ = json.Unmarshal(raw, &req)
	base := s.baseURL(r)
	pi := xbezahldienste.PaymentInformation{
		TransactionURL: base + XBezahldienstePrefix + "/paymenttransaction/" + url.PathEscape(r.PathValue("originator")) +
			"/" + url.PathEscape(r.PathValue("endpoint")) + "/" + p.ID,
		TransactionID:        p.ID,
		TransactionReference: p.Kassenzeichen,
	}
	switch p.State {
	case StateInit, StateStarted:
		pi.Status = xbezahldienste.StatusInitial
		pi.TransactionRedirectURL = base + "/pay/" + p.ID
	case StatePaid, StateConfirmed:
		pi.Status = xbezahldienste.StatusPayed
	case StateFailed, StateExpired:
		// A payment that timed out is FAILED in the standard's model.
		pi.Status = xbezahldienste.StatusFailed
	default:
		pi.Status = xbezahldienste.StatusCanceled
	}
	if !p.PaidAt.IsZero() {
		// The standard fixes no format; this platform writes local time
		// without a zone, as some do.
		pi.TransactionTimestamp = p.PaidAt.In(s.cfg.Location).Format("2006-01-02T15:04:05.000")
		switch p.Method {
		case MethodCreditCard:
			pi.PaymentMethod = xbezahldienste.MethodCreditCard
		case MethodPayPal:
			pi.PaymentMethod = xbezahldienste.MethodPayPal
		case MethodDirectDebit:
			pi.PaymentMethod, pi.PaymentMethodDetail = xbezahldienste.MethodOther, xbezahldienste.DirectDebitDetail
		}
	}
	if s.cfg.Extensions && p.RefundedCents > 0 {
		a := xbezahldienste.Amount(p.RefundedCents)
		pi.RefundedAmount = &a
	}
	return xbezahldienste.PaymentTransaction{PaymentInformation: pi, PaymentRequest: &req}
}

func (s *Server) handleXBZStatus(w http.ResponseWriter, r *http.Request) {
	if !s.xbzCaller(w, r) {
		return
	}
	if err := s.statusFault(r.Context()); err != nil {
		xbzError(w, err)
		return
	}
	s.mu.Lock()
	pp, err := s.lookupLocked(APIXBezahldienste, r.PathValue("id"), "")
	var p Payment
	if err == nil {
		p = copyPayment(pp)
	}
	s.mu.Unlock()
	if err != nil {
		xbzError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.xbzTransaction(r, p))
}

// handleXBZRefund is the simulator's refund extension (Config.Extensions).
func (s *Server) handleXBZRefund(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Extensions {
		http.NotFound(w, r)
		return
	}
	if !s.xbzCaller(w, r) {
		return
	}
	var req xbezahldienste.RefundRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		problem(w, http.StatusBadRequest, xbezahldienste.CodeValidationError, err.Error())
		return
	}
	rf, p, err := s.refund(APIXBezahldienste, r.PathValue("id"), int64(req.Amount), req.RefundID, req.Reason)
	if err != nil {
		xbzError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, xbezahldienste.RefundResponse{
		RefundID: rf.ClientRefundID, PlatformRefundID: rf.ID,
		Amount: xbezahldienste.Amount(rf.AmountCents), RefundedAmount: xbezahldienste.Amount(p.RefundedCents),
	})
}

// dropConnection closes the connection without an answer.
func (s *Server) dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func (s *Server) takeLoseCreateAnswer() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.LoseCreateAnswerNext > 0 {
		s.faults.LoseCreateAnswerNext--
		return true
	}
	return false
}
