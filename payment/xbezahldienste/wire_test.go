package xbezahldienste

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
		{"unreadable timestamp ignored", tx("PAYED", "", "", "", "now"), payment.StatePaid, payment.MethodUnknown, false},
		{"no id", []byte(`{"paymentInformation":{"status":"PAYED"}}`), "", "", true},
		{"trailing", append(tx("PAYED", "", "", "", ""), '{'), "", "", true},
		{"not json", []byte(`<html>`), "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := parseStatus(tt.body, payment.Berlin())
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
		code                            string
		notFound, rejected, unavailable bool
	}{
		{400, CodePaymentExists, false, true, false},
		{400, CodeCalculationError, false, true, false},
		{400, CodeBookingDataMissing, false, true, false},
		{400, CodeValidationError, false, true, false},
		{400, CodeNoValidOriginator, false, true, false},
		{404, CodeNoValidOriginator, false, true, false},
		{403, CodeForbidden, false, false, true},
		{500, CodeUnspecified, false, false, true},
		{404, CodeUnspecified, true, false, false},
		{400, CodeUnspecified, false, true, false},
		{404, "", true, false, false},
		{400, "", false, true, false},
		{409, "", false, true, false},
		{401, "", false, false, true},
		{429, "", false, false, true},
		{503, "", false, false, true},
	}
	for _, tt := range tests {
		e := &APIError{HTTPStatus: tt.status, Problem: Problem{FunctionalCode: tt.code}}
		if errors.Is(e, payment.ErrNotFound) != tt.notFound || errors.Is(e, payment.ErrRejected) != tt.rejected || errors.Is(e, payment.ErrUnavailable) != tt.unavailable {
			t.Errorf("HTTP %d %s maps wrongly", tt.status, tt.code)
		}
		if errors.Is(e, payment.ErrOutcomeUnknown) {
			t.Errorf("HTTP %d %s: an answer from the platform is not an unknown outcome", tt.status, tt.code)
		}
	}
	for _, s := range []int{502, 504} {
		if e := (&APIError{HTTPStatus: s}); !errors.Is(e, payment.ErrOutcomeUnknown) || !errors.Is(e, payment.ErrUnavailable) {
			t.Errorf("HTTP %d from a gateway: not unavailable with an unknown outcome", s)
		}
	}
}

// Golden problem answers, one per functionalCode of the standard.
func TestParseProblem(t *testing.T) {
	for _, code := range []string{CodePaymentExists, CodeCalculationError, CodeBookingDataMissing, CodeValidationError,
		CodeNoValidOriginator, CodeForbidden, CodeUnspecified} {
		body := `{"type":"about:blank","status":400,"title":"Bad Request","detail":"see ` + code + `","functionalCode":"` + code + `"}`
		p := parseProblem([]byte(body))
		if p.FunctionalCode != code || p.Status != 400 || p.Title != "Bad Request" || p.Detail != "see "+code {
			t.Errorf("%s: %+v", code, p)
		}
	}
	if p := parseProblem([]byte(`{"errorCode":"X","errorMessage":"old style"}`)); p != (Problem{}) {
		t.Errorf("not a problem: %+v", p)
	}
	if p := parseProblem([]byte(`<html>`)); p != (Problem{}) {
		t.Errorf("html: %+v", p)
	}
}

// goldenCreated is a create answer as the standard documents it: 200,
// paymentInformation and the echoed paymentRequest.
const goldenCreated = `{"paymentInformation":{"transactionUrl":"https://bd.example/api/v1.0.0/paymenttransaction/termin/07315000/8c0f1e2a-77b4-4a0e-9d7e-0a1b2c3d4e5f",` +
	`"transactionRedirectUrl":"https://bd.example/pay/8c0f1e2a","transactionId":"8c0f1e2a-77b4-4a0e-9d7e-0a1b2c3d4e5f","transactionReference":"BA0000428",` +
	`"transactionTimestamp":"2025-03-14 09:30:00","status":"INITIAL","statusDetail":""},` +
	`"paymentRequest":{"requestId":"TRM0001","requestTimestamp":"2025-03-14T09:30:00Z","currency":"EUR","grosAmount":9.00,"purpose":"BA0000428 Stadtbad","redirectUrl":"https://t.example/r",` +
	`"items":[{"id":"1","reference":"BA0000428","description":"Stadtbad","taxRate":7.00,"quantity":1,"totalNetAmount":8.41,"totalTaxAmount":0.59,"singleNetAmount":8.41,"singleTaxAmount":0.59,"bookingData":{"Kassenzeichen":"BA0000428"}}]}}`

func TestParseCreatedGolden(t *testing.T) {
	c, err := parseCreated([]byte(goldenCreated))
	if err != nil || c.PlatformID != "8c0f1e2a-77b4-4a0e-9d7e-0a1b2c3d4e5f" || c.PayURL != "https://bd.example/pay/8c0f1e2a" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestBuildRequest(t *testing.T) {
	c, err := New(Config{BaseURL: "https://bd.example/api/v1.0.0", OriginatorID: "termin", EndPointID: "07315000",
		Now: func() time.Time { return time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := c.paymentRequest(payment.CreateRequest{Reference: "TRM0001", Kassenzeichen: "BA0000428",
		Purpose: "BA0000428 Stadtbad (Sued)", Description: "Erwachsene, 2 x, 14.03.2025 10:00 – Straße/Ost", AmountCents: 900,
		Currency: "EUR", ReturnURL: "https://t.example/r", TaxRateBasisPoints: 700, BookingData: map[string]string{"Kassenzeichen": "BA0000428"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(pr)
	want := `{"requestId":"TRM0001","requestTimestamp":"2025-03-14T09:30:00Z","currency":"EUR","grosAmount":9.00,"purpose":"BA0000428 Stadtbad Sued",` +
		`"description":"Erwachsene, 2 x, 14.03.2025 10.00 - Straße-Ost","redirectUrl":"https://t.example/r",` +
		`"items":[{"id":"1","reference":"BA0000428","description":"BA0000428 Stadtbad Sued","taxRate":7.00,"quantity":1,` +
		`"totalNetAmount":8.41,"totalTaxAmount":0.59,"singleNetAmount":8.41,"singleTaxAmount":0.59,"bookingData":{"Kassenzeichen":"BA0000428"}}]}`
	if string(got) != want {
		t.Errorf("request\n got %s\nwant %s", got, want)
	}
}

func TestPurposeAndDescription(t *testing.T) {
	purpose := regexp.MustCompile(`^[\w\d\s-]+$`)
	description := regexp.MustCompile(`^[\w\d\s\-,\.\x{00C0}-\x{017F}]+$`)
	for _, tt := range []struct{ in, purpose, description string }{
		{"TB0000428 Gebühr Reisepass", "TB0000428 Gebuehr Reisepass", "TB0000428 Gebühr Reisepass"},
		{"Größe: 10:00 Uhr / Süd", "Groesse 1000 Uhr - Sued", "Größe. 10.00 Uhr - Süd"},
		{"Café & Bar!?", "Cafe und Bar", "Café und Bar"},
		{"  viel   Platz  ", "viel Platz", "viel Platz"},
		{"ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ", "AeAeAeAeAeAeAeAeAeAeAeAeAeA", "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ"},
		{"日本", "", ""},
	} {
		if got := Purpose(tt.in); got != tt.purpose {
			t.Errorf("Purpose(%q) = %q, want %q", tt.in, got, tt.purpose)
		}
		if got := Description(tt.in); got != tt.description {
			t.Errorf("Description(%q) = %q, want %q", tt.in, got, tt.description)
		}
	}
	long := strings.Repeat("ä", 300)
	if d := Description(long); utf8.RuneCountInString(d) != MaxDescriptionLen || !utf8.ValidString(d) {
		t.Errorf("long description: %d characters", utf8.RuneCountInString(d))
	}
	for _, s := range []string{"a:b/c", "x\u0000y", "ø€", strings.Repeat("Ü ", 40)} {
		if p := Purpose(s); p != "" && (!purpose.MatchString(p) || utf8.RuneCountInString(p) > MaxPurposeLen) {
			t.Errorf("Purpose(%q) = %q", s, p)
		}
		if d := Description(s); d != "" && !description.MatchString(d) {
			t.Errorf("Description(%q) = %q", s, d)
		}
	}
}

func TestSplitGross(t *testing.T) {
	for _, tt := range []struct {
		gross    int64
		bp       int
		net, tax int64
	}{{900, 700, 841, 59}, {1190, 1900, 1000, 190}, {450, 0, 450, 0}, {1, 1900, 1, 0}, {99, 10000, 49, 50}} {
		if n, x := SplitGross(tt.gross, tt.bp); n != tt.net || x != tt.tax {
			t.Errorf("SplitGross(%d, %d) = %d, %d", tt.gross, tt.bp, n, x)
		}
	}
}

func FuzzPurposeDescription(f *testing.F) {
	f.Add("TB0000428 Gebühr Reisepass, 14.03.2025 10:00")
	purpose := regexp.MustCompile(`^[\w\d\s-]+$`)
	description := regexp.MustCompile(`^[\w\d\s\-,\.\x{00C0}-\x{017F}]+$`)
	f.Fuzz(func(t *testing.T, s string) {
		if p := Purpose(s); p != "" && (!purpose.MatchString(p) || utf8.RuneCountInString(p) > MaxPurposeLen || !utf8.ValidString(p)) {
			t.Fatalf("Purpose(%q) = %q", s, p)
		}
		if d := Description(s); d != "" && (!description.MatchString(d) || utf8.RuneCountInString(d) > MaxDescriptionLen || !utf8.ValidString(d)) {
			t.Fatalf("Description(%q) = %q", s, d)
		}
	})
}

func FuzzParseProblem(f *testing.F) {
	f.Add([]byte(`{"type":"about:blank","status":400,"title":"Bad Request","functionalCode":"PAYMENT_EXISTS"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p := parseProblem(body)
		e := &APIError{HTTPStatus: 400 + len(body)%200, Problem: p}
		n := 0
		for _, s := range []error{payment.ErrNotFound, payment.ErrRejected, payment.ErrUnavailable} {
			if errors.Is(e, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%+v maps to %d sentinels", e, n)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(`{"paymentInformation":{"transactionId":"X","status":"PAYED","refundedAmount":1},"paymentRequest":{"grosAmount":2}}`))
	f.Add([]byte(`{"paymentInformation":{"transactionId":"X","status":"INITIAL"}}`))
	f.Add([]byte(goldenCreated))
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := parseStatus(body, payment.Berlin())
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
