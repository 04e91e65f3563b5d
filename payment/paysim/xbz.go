package paysim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/digitale-verwaltung/termin/payment/xbezahldienste"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,36}$`)

func xbzError(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, "INTERNAL"
	switch {
	case errors.Is(err, errNotFound):
		status, code = http.StatusNotFound, "NOT_FOUND"
	case errors.Is(err, errDuplicate):
		status, code = http.StatusConflict, "DUPLICATE"
	case errors.Is(err, errInvalidState):
		status, code = http.StatusConflict, "INVALID_STATE"
	case errors.Is(err, errRefundTooBig):
		status, code = http.StatusUnprocessableEntity, "REFUND_TOO_LARGE"
	case errors.Is(err, errInvalid):
		status, code = http.StatusBadRequest, "INVALID_REQUEST"
	}
	writeJSON(w, status, xbezahldienste.ErrorBody{ErrorCode: code, ErrorMessage: err.Error()})
}

func (s *Server) xbzCaller(w http.ResponseWriter, r *http.Request) bool {
	if !s.checkAuth(w, r) {
		return false
	}
	if (s.cfg.OriginatorID != "" && r.PathValue("originator") != s.cfg.OriginatorID) ||
		(s.cfg.EndPointID != "" && r.PathValue("endpoint") != s.cfg.EndPointID) {
		writeJSON(w, http.StatusForbidden, xbezahldienste.ErrorBody{ErrorCode: "FORBIDDEN", ErrorMessage: "unknown originator or endpoint"})
		return false
	}
	return true
}

func (s *Server) handleXBZCreate(w http.ResponseWriter, r *http.Request) {
	if !s.xbzCaller(w, r) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		xbzError(w, errInvalid)
		return
	}
	var req xbezahldienste.PaymentRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, xbezahldienste.ErrorBody{ErrorCode: "INVALID_REQUEST", ErrorMessage: err.Error()})
		return
	}
	if !requestIDPattern.MatchString(req.RequestID) || len(req.Items) == 0 || len(req.Items) > 99 || len(req.Description) > 250 {
		writeJSON(w, http.StatusBadRequest, xbezahldienste.ErrorBody{ErrorCode: "INVALID_REQUEST", ErrorMessage: "requestId, items (1-99) or description"})
		return
	}
	var sum int64
	for _, it := range req.Items {
		sum += int64(it.TotalNetAmount + it.TotalTaxAmount)
	}
	if sum != int64(req.GrosAmount) {
		writeJSON(w, http.StatusBadRequest, xbezahldienste.ErrorBody{ErrorCode: "INVALID_REQUEST", ErrorMessage: "grosAmount is not the sum of the items"})
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
	created, err := s.create(p, 0)
	if err != nil {
		xbzError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.xbzTransaction(r, created))
}

func (s *Server) xbzTransaction(r *http.Request, p Payment) xbezahldienste.PaymentTransaction {
	s.mu.Lock()
	raw := s.payments[p.ID].xbzRequest
	s.mu.Unlock()
	var req xbezahldienste.PaymentRequest
	_ = json.Unmarshal(raw, &req)
	base := s.baseURL(r)
	pi := xbezahldienste.PaymentInformation{
		TransactionURL: base + "/xbezahldienste/paymenttransaction/" + url.PathEscape(r.PathValue("originator")) +
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
	case StateFailed:
		pi.Status = xbezahldienste.StatusFailed
	default:
		pi.Status = xbezahldienste.StatusCanceled
	}
	if !p.PaidAt.IsZero() {
		pi.TransactionTimestamp = p.PaidAt.Format(time.RFC3339)
		switch p.Method {
		case MethodCreditCard:
			pi.PaymentMethod = xbezahldienste.MethodCreditCard
		case MethodPayPal:
			pi.PaymentMethod = xbezahldienste.MethodPayPal
		case MethodDirectDebit:
			pi.PaymentMethod, pi.PaymentMethodDetail = xbezahldienste.MethodOther, xbezahldienste.DirectDebitDetail
		}
	}
	if p.RefundedCents > 0 {
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

func (s *Server) handleXBZRefund(w http.ResponseWriter, r *http.Request) {
	if !s.xbzCaller(w, r) {
		return
	}
	var req xbezahldienste.RefundRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, xbezahldienste.ErrorBody{ErrorCode: "INVALID_REQUEST", ErrorMessage: err.Error()})
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
