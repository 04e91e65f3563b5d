package xbezahldienste

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/digitale-verwaltung/termin/payment"
)

func TestAmountJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Amount
		ok   bool
	}{
		{`37.5`, 3750, true},
		{`37.50`, 3750, true},
		{`0.1`, 10, true},
		{`12`, 1200, true},
		{`0.125`, 0, false},
		{`"12.00"`, 0, false},
		{`1e2`, 0, false},
		{`null`, 0, false},
	}
	for _, tt := range tests {
		var a Amount
		err := json.Unmarshal([]byte(tt.in), &a)
		if tt.ok != (err == nil) || a != tt.want {
			t.Errorf("unmarshal %s = %d, %v; want %d ok=%v", tt.in, a, err, tt.want, tt.ok)
		}
	}
	b, _ := json.Marshal(struct{ A Amount }{3705})
	if string(b) != `{"A":37.05}` {
		t.Errorf("marshal = %s", b)
	}
}

func TestParseStatus(t *testing.T) {
	tx := func(status, method, detail, refunded, ts string) []byte {
		s := `{"paymentInformation":{"transactionId":"XB1","status":"` + status + `"`
		if method != "" {
			s += `,"paymentMethod":"` + method + `","paymentMethodDetail":"` + detail + `"`
		}
		if ts != "" {
			s += `,"transactionTimestamp":"` + ts + `"`
		}
		if refunded != "" {
			s += `,"refundedAmount":` + refunded
		}
		return []byte(s + `},"paymentRequest":{"requestId":"T-1","requestTimestamp":"2025-03-14T09:00:00Z","currency":"EUR","grosAmount":37.00,"purpose":"p","redirectUrl":"https://x","items":[]}}`)
	}
	tests := []struct {
		name       string
		body       []byte
		wantState  payment.State
		wantMethod payment.Method
		bad        bool
	}{
		{"initial", tx("INITIAL", "", "", "", ""), payment.StateCreated, payment.MethodUnknown, false},
		{"payed card", tx("PAYED", "CREDITCARD", "VISA", "", "2025-03-14T09:31:00Z"), payment.StatePaid, payment.MethodCard, false},
		{"payed paypal", tx("PAYED", "PAYPAL", "", "0", "2025-03-14T09:31:00Z"), payment.StatePaid, payment.MethodPayPal, false},
		{"payed debit", tx("PAYED", "OTHER", "SEPA_DIRECT_DEBIT", "", ""), payment.StatePaid, payment.MethodDirectDebit, false},
		{"payed giropay", tx("PAYED", "GIROPAY", "", "", ""), payment.StatePaid, payment.MethodOther, false},
		{"refunded", tx("PAYED", "PAYPAL", "", "37.00", ""), payment.StateRefunded, payment.MethodPayPal, false},
		{"canceled", tx("CANCELED", "", "", "", ""), payment.StateCancelled, payment.MethodUnknown, false},
		{"failed", tx("FAILED", "", "", "", ""), payment.StateFailed, payment.MethodUnknown, false},
		{"unknown", tx("OPEN", "", "", "", ""), "", "", true},
		{"over-refunded", tx("PAYED", "", "", "40", ""), "", "", true},
		{"bad timestamp", tx("PAYED", "", "", "", "now"), "", "", true},
		{"no id", []byte(`{"paymentInformation":{"status":"PAYED"}}`), "", "", true},
		{"trailing", append(tx("PAYED", "", "", "", ""), '{'), "", "", true},
		{"not json", []byte(`<html>`), "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := parseStatus(tt.body)
			if tt.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", rep)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.State != tt.wantState || rep.Method != tt.wantMethod || rep.PlatformID != "XB1" || rep.Reference != "T-1" || rep.AmountCents != 3700 || rep.Currency != "EUR" {
				t.Fatalf("report %+v", rep)
			}
			if string(rep.Raw) != string(tt.body) {
				t.Error("Raw not kept")
			}
		})
	}
}

func TestAPIErrorMapping(t *testing.T) {
	tests := []struct {
		status                          int
		notFound, rejected, unavailable bool
	}{
		{404, true, false, false},
		{400, false, true, false},
		{409, false, true, false},
		{401, false, false, true},
		{429, false, false, true},
		{503, false, false, true},
	}
	for _, tt := range tests {
		e := &APIError{HTTPStatus: tt.status}
		if errors.Is(e, payment.ErrNotFound) != tt.notFound || errors.Is(e, payment.ErrRejected) != tt.rejected || errors.Is(e, payment.ErrUnavailable) != tt.unavailable {
			t.Errorf("HTTP %d maps wrongly", tt.status)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(`{"paymentInformation":{"transactionId":"X","status":"PAYED","refundedAmount":1},"paymentRequest":{"grosAmount":2}}`))
	f.Add([]byte(`{"paymentInformation":{"transactionId":"X","status":"INITIAL"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := parseStatus(body)
		if err != nil {
			return
		}
		if rep.PlatformID == "" || rep.State == "" || rep.RefundedCents > rep.AmountCents || rep.AmountCents < 0 {
			t.Fatalf("accepted inconsistent report %+v", rep)
		}
	})
}

func FuzzParseCreated(f *testing.F) {
	f.Add([]byte(`{"paymentInformation":{"transactionId":"X","status":"INITIAL","transactionRedirectUrl":"https://p"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseCreated(body)
		if err == nil && (c.PlatformID == "" || c.PayURL == "") {
			t.Fatalf("accepted %+v", c)
		}
	})
}
