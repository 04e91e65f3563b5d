package paysim

import (
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strings"

	"github.com/digitale-verwaltung/termin/payment"
)

var pageTmpl = template.Must(template.New("pay").Funcs(template.FuncMap{
	"euro": func(c int64) string { return strings.Replace(payment.FormatCents(c), ".", ",", 1) + " €" },
}).Parse(`<!DOCTYPE html>
<html lang="de">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Zahlungsplattform-Simulator</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}
.sim{background:#fff3cd;border:1px solid #c9a227;padding:.5rem}fieldset{margin:1rem 0}
button{font-size:1rem;margin:.25rem .5rem .25rem 0;padding:.5rem 1rem}</style></head>
<body>
<p class="sim" role="note">Simulator — hier fließt kein echtes Geld. / Simulator — no real money is moved.</p>
<h1>Bezahlen</h1>
<dl>
<dt>Betrag</dt><dd>{{euro .P.AmountCents}}</dd>
<dt>Verwendungszweck</dt><dd>{{.P.Purpose}}</dd>
{{with .P.Description}}<dt>Beschreibung</dt><dd>{{.}}</dd>{{end}}
<dt>Referenz</dt><dd>{{.P.ID}}</dd>
</dl>
{{if .Open}}
<form method="post" action="/pay/{{.P.ID}}">
<fieldset><legend>Zahlungsart</legend>
<div><input type="radio" id="m-cc" name="method" value="creditcard" checked><label for="m-cc">Kreditkarte</label></div>
<div><input type="radio" id="m-pp" name="method" value="paypal"><label for="m-pp">PayPal</label></div>
<div><input type="radio" id="m-dd" name="method" value="directdebit"><label for="m-dd">Lastschrift</label></div>
</fieldset>
<button type="submit" name="action" value="pay">Bezahlen</button>
<button type="submit" name="action" value="fail">Zahlung schlägt fehl</button>
<button type="submit" name="action" value="cancel">Abbrechen</button>
</form>
{{else}}
<p role="status">Diese Zahlung ist abgeschlossen (Status: {{.P.State}}).{{if .Done}} Sie können dieses Fenster schließen.{{end}}</p>
{{end}}
</body></html>`))

func (s *Server) renderPage(w http.ResponseWriter, status int, p Payment, done bool) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	open := p.State == StateInit || p.State == StateStarted
	if err := pageTmpl.Execute(w, struct {
		P          Payment
		Open, Done bool
	}{p, open, done}); err != nil {
		s.log.Error("render pay page", "error", err)
	}
}

func (s *Server) handlePayPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.markStarted(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.renderPage(w, http.StatusOK, p, false)
}

func (s *Server) handlePaySubmit(w http.ResponseWriter, r *http.Request) {
	outcome := map[string]string{"pay": OutcomePaid, "fail": OutcomeFailed, "cancel": OutcomeCancelled}[r.PostFormValue("action")]
	if outcome == "" {
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	p, target, err := s.complete(r.PathValue("id"), outcome, r.PostFormValue("method"))
	switch {
	case errors.Is(err, errNotFound):
		http.NotFound(w, r)
		return
	case errors.Is(err, errInvalidState):
		s.renderPage(w, http.StatusConflict, p, false)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := s.currentFaults()
	if f.NeverReturn {
		s.renderPage(w, http.StatusOK, p, true)
		return
	}
	if f.DuplicateReturn {
		// The browser's redirect is the first hit; the simulator adds one.
		s.visitReturn(r.Context(), target, 1)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// completeRequest is the body of POST /sim/payments/{id}/complete.
type completeRequest struct {
	Outcome string `json:"outcome"` // paid, failed, cancelled
	Method  string `json:"method"`  // creditcard, paypal, directdebit
	// VisitReturn makes the simulator call the return (or cancel) URL
	// itself, as the citizen's browser would; twice with DuplicateReturn,
	// never with NeverReturn.
	VisitReturn bool `json:"visitReturn"`
}

func (s *Server) handleComplete(w http.ResponseWriter, r *http.Request) {
	var req completeRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	p, target, err := s.complete(r.PathValue("id"), req.Outcome, req.Method)
	switch {
	case errors.Is(err, errNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	case errors.Is(err, errInvalidState):
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "payment": p})
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	f := s.currentFaults()
	if req.VisitReturn && !f.NeverReturn {
		n := 1
		if f.DuplicateReturn {
			n = 2
		}
		s.visitReturn(r.Context(), target, n)
	}
	if f.NeverReturn {
		target = ""
	}
	writeJSON(w, http.StatusOK, map[string]any{"payment": p, "redirect": target})
}

// backOfficeRefund is the body of POST /sim/payments/{id}/refund: the
// refund finance makes by hand in the platform's back office.
type backOfficeRefund struct {
	AmountCents int64  `json:"amountCents"`
	Reason      string `json:"reason"`
}

func (s *Server) handleBackOfficeRefund(w http.ResponseWriter, r *http.Request) {
	var req backOfficeRefund
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.mu.Lock()
	api := ""
	if p, ok := s.payments[r.PathValue("id")]; ok {
		api = p.API
	}
	s.mu.Unlock()
	rf, p, err := s.refund(api, r.PathValue("id"), req.AmountCents, "", req.Reason)
	switch {
	case errors.Is(err, errNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	case err != nil:
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"refund": rf, "payment": p})
}

func (s *Server) handleList(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Payments())
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	p, ok := s.Payment(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": errNotFound.Error()})
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.currentFaults())
}

func (s *Server) handleSetFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	d := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.SetFaults(f)
	s.log.Info("faults set", "faults", f)
	writeJSON(w, http.StatusOK, f)
}
