package paysim_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/digitale-verwaltung/termin/payment/paysim"
)

// The simulator reads outside requests too: whatever arrives, it answers
// with one of the platforms' own error forms, never a panic or a 2xx for
// nonsense.
func FuzzSimulatorRequests(f *testing.F) {
	f.Add("soap", paysim.Epay21Namespace+"/InitPayment", `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>`+
		`<InitPayment xmlns="`+paysim.Epay21Namespace+`"><OP><Mandant>07315000</Mandant><App>t</App></OP><Query><CallerPayID>T1</CallerPayID>`+
		`<Purpose>x</Purpose><Amount>100</Amount><Currency>EUR</Currency><ReturnURL>https://r</ReturnURL><CancelURL>https://c</CancelURL>`+
		`<Art>online</Art><GetQrCode>false</GetQrCode><PaymentTimeout>5</PaymentTimeout></Query></InitPayment></soap:Body></soap:Envelope>`)
	f.Add("xbz", "", `{"requestId":"T1","requestTimestamp":"x","currency":"EUR","grosAmount":1.00,"purpose":"x","redirectUrl":"https://r",`+
		`"items":[{"id":"1","taxRate":0,"quantity":1,"totalNetAmount":1.00,"totalTaxAmount":0,"singleNetAmount":1.00,"singleTaxAmount":0,"bookingData":{"a":"b"}}]}`)
	sim := paysim.New(paysim.Config{Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, api, action, body string) {
		path := paysim.XBezahldienstePrefix + "/paymenttransaction/termin/07315000"
		if api == "soap" {
			path = paysim.Epay21Path
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("SOAPAction", `"`+action+`"`)
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
		case api == "soap" && rec.Code == http.StatusInternalServerError && strings.Contains(rec.Body.String(), "<faultcode>soap:Client</faultcode>"):
		case api != "soap" && rec.Code >= 400 && strings.Contains(rec.Header().Get("Content-Type"), "problem+json"):
		default:
			t.Fatalf("%s %q: HTTP %d %s", api, body, rec.Code, rec.Body)
		}
	})
}

// The answer nests as the real service's: <Op>Response/<Op>Result/
// Operation/Result, the Payment and PayPageInfo beside Operation.
func TestEpay21AnswerNesting(t *testing.T) {
	sim := paysim.New(paysim.Config{Logger: slog.New(slog.DiscardHandler)})
	body := `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<InitPayment xmlns="` + paysim.Epay21Namespace + `"><OP><Mandant>07315000</Mandant><App>t</App></OP><Query><CallerPayID>T1</CallerPayID>` +
		`<Purpose>KZ1 Bad</Purpose><Amount>100</Amount><Currency>EUR</Currency><ReturnURL>https://r</ReturnURL><CancelURL>https://c</CancelURL>` +
		`<Art>online</Art><GetQrCode>false</GetQrCode><PaymentTimeout>5</PaymentTimeout></Query></InitPayment></soap:Body></soap:Envelope>`
	req := httptest.NewRequest(http.MethodPost, paysim.Epay21Path, strings.NewReader(body))
	req.Header.Set("SOAPAction", `"`+paysim.Epay21Namespace+`/InitPayment"`)
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	got := rec.Body.String()
	for _, want := range []string{
		`<InitPaymentResponse xmlns="` + paysim.Epay21Namespace + `"><InitPaymentResult><Operation><Result><OK>true</OK></Result></Operation><Payment><Type>none</Type>`,
		`<TimestampFinish>0001-01-01T00:00:00</TimestampFinish></Payment><PayPageInfo><PayPageUrl>`,
		`</PayPageInfo></InitPaymentResult></InitPaymentResponse>`,
	} {
		if rec.Code != 200 || !strings.Contains(got, want) {
			t.Fatalf("answer %d lacks %s:\n%s", rec.Code, want, got)
		}
	}
}
