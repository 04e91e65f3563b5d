package epay21

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// Golden answers, written from the answers a public client of the real
// service captured: nested <Op>Result/Operation/Result, Payment beside
// Operation, zone-less times, .NET's zero time for "unset".
const (
	goldenInitOK = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>` +
		`<InitPaymentResponse xmlns="http://epay21.ekom21.de/service/v11"><InitPaymentResult><Operation><Result><OK>true</OK></Result></Operation>` +
		`<Payment><Type>none</Type><PayID>a1b2c3d4-0001</PayID><CallerPayID>TRM0001</CallerPayID><Status>init</Status><StatusText>Zahlung angelegt</StatusText>` +
		`<TimestampStart>2020-05-06T20:27:54.07</TimestampStart><TimestampFinish>0001-01-01T00:00:00</TimestampFinish></Payment>` +
		`<PayPageInfo><PayPageUrl>https://epay-qs.ekom21.de/epay21/paypage/?id=a1b2c3d4-0001</PayPageUrl></PayPageInfo></InitPaymentResult></InitPaymentResponse></soap:Body></soap:Envelope>`
	goldenStatusPayed = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<GetPaymentStatusResponse xmlns="http://epay21.ekom21.de/service/v11"><GetPaymentStatusResult><Operation><Result><OK>true</OK></Result></Operation>` +
		`<Payment><Type>Paypal</Type><PayID>a1b2c3d4-0001</PayID><CallerPayID>TRM0001</CallerPayID><Status>payed</Status><StatusText>Zahlung erfolgreich</StatusText>` +
		`<TimestampStart>2020-05-06T20:27:54.07</TimestampStart><TimestampFinish>2020-05-06T20:29:01.5</TimestampFinish></Payment></GetPaymentStatusResult></GetPaymentStatusResponse></soap:Body></soap:Envelope>`
	goldenStatusNotFound = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<GetPaymentStatusResponse xmlns="http://epay21.ekom21.de/service/v11"><GetPaymentStatusResult><Operation><Result><OK>false</OK>` +
		`<ErrorCode>P107</ErrorCode><ErrorMessage>Zahlung nicht gefunden</ErrorMessage><ErrorMessageDetail>SearchKey TRM0002</ErrorMessageDetail></Result></Operation>` +
		`</GetPaymentStatusResult></GetPaymentStatusResponse></soap:Body></soap:Envelope>`
	goldenX101 = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<ConfirmPaymentResponse xmlns="http://epay21.ekom21.de/service/v11"><ConfirmPaymentResult><Operation><Result><OK>false</OK>` +
		`<ErrorCode>X101</ErrorCode><ErrorMessage>Interner Fehler</ErrorMessage></Result></Operation></ConfirmPaymentResult></ConfirmPaymentResponse></soap:Body></soap:Envelope>`
	goldenFaultAction = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>` +
		`<faultcode>soap:Client</faultcode><faultstring>System.Web.Services.Protocols.SoapException: Server did not recognize the value of HTTP Header SOAPAction: http://epay21.ekom21.de/service/v11#InitPayment.</faultstring>` +
		`<detail /></soap:Fault></soap:Body></soap:Envelope>`
)

func TestMarshalInitPayment(t *testing.T) {
	c, err := New(Config{Endpoint: "https://epay-qs.example" + ServicePath, Mandant: "06531005", MandantDesc: "Stadt Beispiel", App: "termin"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := marshalEnvelope(initPayment{NS: DefaultNamespace, OP: c.op, Query: initQuery{
		CallerPayID: "TRM0001", Purpose: "TB0000428 Reisepass", OrderDesc: "Reisepass <Express> & Co",
		Amount: 3700, Currency: "EUR", ReturnURL: "https://t.example/r?a=1&b=2", CancelURL: "https://t.example/c",
		Art: "online", GetQrCode: false, PaymentTimeout: 30,
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<InitPayment xmlns="http://epay21.ekom21.de/service/v11"><OP><Mandant>06531005</Mandant><MandantDesc>Stadt Beispiel</MandantDesc>` +
		`<App>termin</App><LocaleCode>DE_DE</LocaleCode><ClientInfo>06531005_termin</ClientInfo></OP>` +
		`<Query><CallerPayID>TRM0001</CallerPayID><Purpose>TB0000428 Reisepass</Purpose><OrderDesc>Reisepass &lt;Express&gt; &amp; Co</OrderDesc>` +
		`<Amount>3700</Amount><Currency>EUR</Currency><ReturnURL>https://t.example/r?a=1&amp;b=2</ReturnURL><CancelURL>https://t.example/c</CancelURL>` +
		`<Art>online</Art><GetQrCode>false</GetQrCode><PaymentTimeout>30</PaymentTimeout></Query>` +
		`</InitPayment></soap:Body></soap:Envelope>`
	if string(got) != want {
		t.Errorf("envelope\n got %s\nwant %s", got, want)
	}
	if a := SOAPAction(DefaultNamespace, "InitPayment"); a != "http://epay21.ekom21.de/service/v11/InitPayment" {
		t.Errorf("SOAPAction %q", a)
	}
}

func TestMarshalStatusAndConfirm(t *testing.T) {
	op := opBlock{Mandant: "06531005", App: "termin", LocaleCode: "DE_DE", ClientInfo: "x"}
	st, _ := marshalEnvelope(getPaymentStatus{NS: DefaultNamespace, OP: op, Query: statusQuery{SearchKey: "TRM0001", SearchMode: "normal"}})
	if !strings.Contains(string(st), `<GetPaymentStatus xmlns="http://epay21.ekom21.de/service/v11"><OP>`) ||
		!strings.Contains(string(st), `<Query><SearchKey>TRM0001</SearchKey><SearchMode>normal</SearchMode></Query>`) {
		t.Errorf("status request %s", st)
	}
	cf, _ := marshalEnvelope(confirmPayment{NS: DefaultNamespace, OP: op, Query: confirmQuery{PayID: "P1", Action: "confirm"}})
	if !strings.Contains(string(cf), `<Query><PayID>P1</PayID><Action>confirm</Action></Query>`) {
		t.Errorf("confirm request %s", cf)
	}
}

func TestParseInitResponse(t *testing.T) {
	c, err := parseInitResponse([]byte(goldenInitOK))
	if err != nil || c.PlatformID != "a1b2c3d4-0001" || c.PayURL != "https://epay-qs.ekom21.de/epay21/paypage/?id=a1b2c3d4-0001" || len(c.Raw) == 0 {
		t.Fatalf("init: %+v %v", c, err)
	}
	noURL := strings.Replace(goldenInitOK, "<PayPageInfo><PayPageUrl>https://epay-qs.ekom21.de/epay21/paypage/?id=a1b2c3d4-0001</PayPageUrl></PayPageInfo>", "", 1)
	if _, err := classifyParse(parseInitResponse([]byte(noURL))); !errors.Is(err, payment.ErrOutcomeUnknown) {
		t.Errorf("init without pay page: %v", err)
	}
}

func classifyParse(c payment.Created, err error) (payment.Created, error) {
	if err != nil {
		return c, classify(err, true)
	}
	return c, nil
}

func TestParseStatusResponse(t *testing.T) {
	berlin := payment.Berlin()
	paid := time.Date(2020, 5, 6, 20, 29, 1, 500_000_000, berlin)
	block := func(status, typ, finish string) []byte {
		s := strings.Replace(goldenStatusPayed, "<Status>payed</Status>", "<Status>"+status+"</Status>", 1)
		s = strings.Replace(s, "<Type>Paypal</Type>", "<Type>"+typ+"</Type>", 1)
		return []byte(strings.Replace(s, "2020-05-06T20:29:01.5", finish, 1))
	}
	tests := []struct {
		name       string
		body       []byte
		wantState  payment.State
		wantMethod payment.Method
		wantPaidAt time.Time
		wantErr    error
	}{
		{"golden payed", []byte(goldenStatusPayed), payment.StatePaid, payment.MethodPayPal, paid, nil},
		{"init", block("init", "none", "0001-01-01T00:00:00"), payment.StateCreated, payment.MethodUnknown, time.Time{}, nil},
		{"started", block("started", "none", "0001-01-01T00:00:00"), payment.StateInitiated, payment.MethodUnknown, time.Time{}, nil},
		{"confirmed by card", block("confirmed", "Creditcard", "2020-05-06T20:29:01.5"), payment.StateConfirmed, payment.MethodCard, paid, nil},
		{"giropay is other", block("payed", "Giropay", "2020-05-06T20:29:01.5"), payment.StatePaid, payment.MethodOther, paid, nil},
		{"payed without a time", block("payed", "Paydirect", "0001-01-01T00:00:00"), payment.StatePaid, payment.MethodOther, time.Time{}, nil},
		{"unreadable time ignored", block("payed", "Paypal", "gestern"), payment.StatePaid, payment.MethodPayPal, time.Time{}, nil},
		{"canceled", block("canceled", "none", "0001-01-01T00:00:00"), payment.StateCancelled, payment.MethodUnknown, time.Time{}, nil},
		{"failed", block("failed", "Creditcard", "2020-05-06T20:29:01.5"), payment.StateFailed, payment.MethodCard, time.Time{}, nil},
		{"unknown status", block("weird", "none", ""), "", "", time.Time{}, payment.ErrUnavailable},
		{"not found is final", []byte(goldenStatusNotFound), "", "", time.Time{}, payment.ErrNotFound},
		{"X code is the platform's trouble", []byte(strings.ReplaceAll(goldenStatusNotFound, "P107", "X101")), "", "", time.Time{}, payment.ErrUnavailable},
		{"other P code is rejected", []byte(strings.ReplaceAll(goldenStatusNotFound, "P107", "P110")), "", "", time.Time{}, payment.ErrRejected},
		{"SOAPAction fault", []byte(strings.ReplaceAll(goldenFaultAction, "InitPayment", "GetPaymentStatus")), "", "", time.Time{}, payment.ErrRejected},
		{"server fault", []byte(strings.ReplaceAll(goldenFaultAction, "soap:Client", "soap:Server")), "", "", time.Time{}, payment.ErrUnavailable},
		{"wrong element", []byte(goldenInitOK), "", "", time.Time{}, payment.ErrUnavailable},
		{"no OK", []byte(strings.Replace(goldenStatusPayed, "<OK>true</OK>", "", 1)), "", "", time.Time{}, payment.ErrUnavailable},
		{"not soap", []byte(`<html>502</html>`), "", "", time.Time{}, payment.ErrUnavailable},
		{"empty", nil, "", "", time.Time{}, payment.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := parseStatusResponse(tt.body, berlin)
			if err != nil {
				err = classify(err, false)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr == payment.ErrNotFound && (errors.Is(err, payment.ErrUnavailable) || errors.Is(err, payment.ErrRejected)) {
					t.Fatalf("not found also maps to a retry or a rejection: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.State != tt.wantState || rep.Method != tt.wantMethod || rep.PlatformID != "a1b2c3d4-0001" || rep.Reference != "TRM0001" || !rep.AmountUnknown {
				t.Fatalf("report %+v", rep)
			}
			if !rep.PaidAt.Equal(tt.wantPaidAt) {
				t.Errorf("PaidAt = %v, want %v", rep.PaidAt, tt.wantPaidAt)
			}
			if string(rep.Raw) != string(tt.body) {
				t.Error("Raw not kept")
			}
		})
	}
}

func TestConfirmErrors(t *testing.T) {
	if err := classify(parseConfirmResponse([]byte(goldenX101)), false); !errors.Is(err, payment.ErrUnavailable) {
		t.Errorf("X101: %v", err)
	}
	ok := strings.NewReplacer("<OK>false</OK>", "<OK>true</OK>", "<ErrorCode>X101</ErrorCode><ErrorMessage>Interner Fehler</ErrorMessage>", "").Replace(goldenX101)
	if err := parseConfirmResponse([]byte(ok)); err != nil {
		t.Errorf("confirm: %v", err)
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		err                             *Error
		notFound, rejected, unavailable bool
	}{
		{&Error{Code: CodeNotFound}, true, false, false},
		{&Error{Code: "P110"}, false, true, false},
		{&Error{Code: "X101"}, false, false, true},
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

func FuzzParseStatusResponse(f *testing.F) {
	f.Add([]byte(goldenStatusPayed))
	f.Add([]byte(goldenStatusNotFound))
	f.Add([]byte(goldenFaultAction))
	f.Add([]byte(`<Envelope/>`))
	berlin := payment.Berlin()
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := parseStatusResponse(body, berlin)
		if err != nil {
			err = classify(err, false)
			if !errors.Is(err, payment.ErrNotFound) && !errors.Is(err, payment.ErrRejected) && !errors.Is(err, payment.ErrUnavailable) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if rep.PlatformID == "" || rep.State == "" || !rep.AmountUnknown {
			t.Fatalf("accepted inconsistent report %+v", rep)
		}
	})
}

func FuzzParseInitResponse(f *testing.F) {
	f.Add([]byte(goldenInitOK))
	f.Add([]byte(goldenX101))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseInitResponse(body)
		if err == nil && (c.PlatformID == "" || c.PayURL == "") {
			t.Fatalf("accepted %+v", c)
		}
	})
}
