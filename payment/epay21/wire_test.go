package epay21

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

func envelope(inner string) []byte {
	return []byte(`<?xml version="1.0"?><s:Envelope xmlns:s="` + SOAPEnvNS + `" xmlns:e="urn:other"><s:Header><x/></s:Header><s:Body>` + inner + `</s:Body></s:Envelope>`)
}

func TestMarshalInitPayment(t *testing.T) {
	got, err := marshalEnvelope(initPayment{
		NS:     DefaultNamespace,
		Caller: caller{Mandant: "07315000", App: "termin", Locale: "de_DE"},
		Request: initRequestBlock{
			ClientPayID: "T-1", Kassenzeichen: "BA0000428", Purpose: "Gebuehr Reisepass",
			Description: "Reisepass <Express> & Co", Amount: 3700, Currency: "EUR",
			ReturnURL: "https://t.example/r?a=1&b=2", CancelURL: "https://t.example/c",
			Kind: "online", Timeout: 30,
			BookingData: bookingItems(map[string]string{"Haushaltsstelle": "1.1220.431000", "Kostenstelle": "12200"}),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<InitPayment xmlns="urn:epay21:payment"><Caller><Mandant>07315000</Mandant><App>termin</App><Locale>de_DE</Locale></Caller>` +
		`<Request><ClientPayId>T-1</ClientPayId><Kassenzeichen>BA0000428</Kassenzeichen><Purpose>Gebuehr Reisepass</Purpose>` +
		`<Description>Reisepass &lt;Express&gt; &amp; Co</Description><Amount>3700</Amount><Currency>EUR</Currency>` +
		`<ReturnUrl>https://t.example/r?a=1&amp;b=2</ReturnUrl><CancelUrl>https://t.example/c</CancelUrl><Kind>online</Kind><Timeout>30</Timeout>` +
		`<BookingData><Item key="Haushaltsstelle">1.1220.431000</Item><Item key="Kostenstelle">12200</Item></BookingData>` +
		`</Request></InitPayment></soap:Body></soap:Envelope>`
	if string(got) != want {
		t.Errorf("envelope\n got %s\nwant %s", got, want)
	}
}

func TestParseStatusResponse(t *testing.T) {
	paid := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	block := func(status, method string, amount, refunded int64, paidAt string) []byte {
		return envelope(`<e:GetPaymentStatusResponse><e:Payment><e:PayId>EP1</e:PayId><e:ClientPayId>T-1</e:ClientPayId>` +
			`<e:Status>` + status + `</e:Status><e:Amount>` + itoa(amount) + `</e:Amount><e:Currency>EUR</e:Currency>` +
			`<e:PaymentMethod>` + method + `</e:PaymentMethod><e:PaidAt>` + paidAt + `</e:PaidAt>` +
			`<e:RefundedAmount>` + itoa(refunded) + `</e:RefundedAmount></e:Payment></e:GetPaymentStatusResponse>`)
	}
	tests := []struct {
		name       string
		body       []byte
		wantState  payment.State
		wantMethod payment.Method
		wantErr    error
	}{
		{"init", block("init", "", 3700, 0, ""), payment.StateCreated, payment.MethodUnknown, nil},
		{"started", block("started", "", 3700, 0, ""), payment.StateInitiated, payment.MethodUnknown, nil},
		{"payed", block("payed", "paypal", 3700, 0, "2025-03-14T09:30:00Z"), payment.StatePaid, payment.MethodPayPal, nil},
		{"confirmed", block("confirmed", "creditcard", 3700, 0, "2025-03-14T09:30:00Z"), payment.StateConfirmed, payment.MethodCard, nil},
		{"partly refunded", block("confirmed", "directdebit", 3700, 1000, "2025-03-14T09:30:00Z"), payment.StateConfirmed, payment.MethodDirectDebit, nil},
		{"fully refunded", block("confirmed", "giropay", 3700, 3700, "2025-03-14T09:30:00Z"), payment.StateRefunded, payment.MethodOther, nil},
		{"canceled", block("canceled", "", 3700, 0, ""), payment.StateCancelled, payment.MethodUnknown, nil},
		{"failed", block("failed", "", 3700, 0, ""), payment.StateFailed, payment.MethodUnknown, nil},
		{"unknown status", block("weird", "", 3700, 0, ""), "", "", payment.ErrUnavailable},
		{"refund > amount", block("payed", "", 100, 200, ""), "", "", payment.ErrUnavailable},
		{"bad time", block("payed", "", 100, 0, "yesterday"), "", "", payment.ErrUnavailable},
		{"not found fault", envelope(`<s:Fault><faultcode>s:Client</faultcode><faultstring>not found</faultstring><detail><Error xmlns="urn:x"><Code>P107</Code><Message>Payment not found</Message></Error></detail></s:Fault>`), "", "", payment.ErrNotFound},
		{"state fault", envelope(`<s:Fault><faultcode>s:Client</faultcode><faultstring>x</faultstring><detail><Error><Code>P110</Code></Error></detail></s:Fault>`), "", "", payment.ErrRejected},
		{"server fault", envelope(`<s:Fault><faultcode>s:Server</faultcode><faultstring>busy</faultstring></s:Fault>`), "", "", payment.ErrUnavailable},
		{"client fault no code", envelope(`<s:Fault><faultcode>s:Client</faultcode><faultstring>bad</faultstring></s:Fault>`), "", "", payment.ErrRejected},
		{"wrong element", envelope(`<e:InitPaymentResponse/>`), "", "", payment.ErrUnavailable},
		{"not soap", []byte(`<html>502</html>`), "", "", payment.ErrUnavailable},
		{"empty", nil, "", "", payment.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := parseStatusResponse(tt.body)
			if err != nil {
				err = classify(err)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.State != tt.wantState || rep.Method != tt.wantMethod || rep.PlatformID != "EP1" || rep.Reference != "T-1" || rep.AmountCents != 3700 {
				t.Fatalf("report %+v", rep)
			}
			if rep.PlatformState != tt.name && !strings.Contains(tt.name, "refunded") {
				t.Errorf("PlatformState = %q", rep.PlatformState)
			}
			if rep.Method != payment.MethodUnknown && !rep.PaidAt.Equal(paid) {
				t.Errorf("PaidAt = %v", rep.PaidAt)
			}
			if string(rep.Raw) != string(tt.body) {
				t.Error("Raw not kept")
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		err                             *Error
		notFound, rejected, unavailable bool
	}{
		{&Error{Code: CodeNotFound}, true, false, false},
		{&Error{Code: CodeRefundTooLarge}, false, true, false},
		{&Error{Code: CodeInternal}, false, false, true},
		{&Error{FaultCode: "soap:Client"}, false, true, false},
		{&Error{FaultCode: "soap:Server"}, false, false, true},
	}
	for _, tt := range tests {
		if errors.Is(tt.err, payment.ErrNotFound) != tt.notFound ||
			errors.Is(tt.err, payment.ErrRejected) != tt.rejected ||
			errors.Is(tt.err, payment.ErrUnavailable) != tt.unavailable {
			t.Errorf("%+v maps wrongly", tt.err)
		}
	}
}

func TestParseOtherResponses(t *testing.T) {
	c, err := parseInitResponse(envelope(`<InitPaymentResponse xmlns="urn:epay21:payment"><PayId>EP9</PayId><PayUrl>https://p/pay/EP9</PayUrl></InitPaymentResponse>`))
	if err != nil || c.PlatformID != "EP9" || c.PayURL != "https://p/pay/EP9" || len(c.Raw) == 0 {
		t.Errorf("init: %+v %v", c, err)
	}
	if _, err := parseInitResponse(envelope(`<InitPaymentResponse><PayId>EP9</PayId></InitPaymentResponse>`)); err == nil {
		t.Error("init without PayUrl accepted")
	}
	r, err := parseRefundResponse(envelope(`<RefundPaymentResponse><PlatformRefundId>R1</PlatformRefundId><Amount>500</Amount></RefundPaymentResponse>`))
	if err != nil || r.PlatformRefundID != "R1" || r.AmountCents != 500 {
		t.Errorf("refund: %+v %v", r, err)
	}
	if err := parseConfirmResponse(envelope(`<ConfirmPaymentResponse><Status>confirmed</Status></ConfirmPaymentResponse>`)); err != nil {
		t.Errorf("confirm: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzParseStatusResponse(f *testing.F) {
	f.Add(envelope(`<GetPaymentStatusResponse><Payment><PayId>EP1</PayId><Status>payed</Status><Amount>1</Amount><PaidAt>2025-01-01T00:00:00Z</PaidAt></Payment></GetPaymentStatusResponse>`))
	f.Add(envelope(`<s:Fault><faultcode>s:Client</faultcode><detail><Error><Code>P107</Code></Error></detail></s:Fault>`))
	f.Add([]byte(`<Envelope/>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := parseStatusResponse(body)
		if err != nil {
			return
		}
		if rep.PlatformID == "" || rep.State == "" || rep.RefundedCents > rep.AmountCents || rep.AmountCents < 0 {
			t.Fatalf("accepted inconsistent report %+v", rep)
		}
	})
}

func FuzzParseInitResponse(f *testing.F) {
	f.Add(envelope(`<InitPaymentResponse><PayId>EP9</PayId><PayUrl>https://p</PayUrl></InitPaymentResponse>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseInitResponse(body)
		if err == nil && (c.PlatformID == "" || c.PayURL == "") {
			t.Fatalf("accepted %+v", c)
		}
	})
}
