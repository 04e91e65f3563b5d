package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/account"
	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// ledgerFake is the payment side of the finance pages and the statistics
// store: two payments with their postings, one dead letter, one run.
type ledgerFake struct {
	mu       sync.Mutex
	postings payment.PostingFilter
	payments payment.PaymentFilter
	retried  []int64
	runs     []reconcile.Reconciliation
	uploads  [][2][]byte
	// refundFilter and refunded are what the refund work list was asked.
	refundFilter payment.RefundTaskFilter
	refunded     []string
}

var fakePaid = time.Date(2030, 1, 6, 10, 30, 0, 0, time.UTC)

func fakePayments() []payment.Payment {
	return []payment.Payment{
		{Reference: "TRMREF1", Kassenzeichen: "TB0000000012", BookingCode: "8TM9CPXR", ServiceID: "pass", Units: 1, AmountCents: 450,
			Currency: "EUR", Platform: "epay21", PlatformID: "EP-1", State: payment.StateConfirmed, Method: "paypal", PaidAt: &fakePaid, CreatedAt: fakePaid},
		{Reference: "TRMREF2", Kassenzeichen: "TB0000000020", BookingCode: "K7Q2MZ4D", ServiceID: "pass", Units: 1, AmountCents: 2800,
			Currency: "EUR", Platform: "epay21", PlatformID: "EP-2", State: payment.StateRefunded, Method: "creditcard", RefundedCents: 2800, CreatedAt: fakePaid},
	}
}

func fakePostings() []payment.Posting {
	day := time.Date(2030, 1, 6, 0, 0, 0, 0, time.UTC)
	return []payment.Posting{
		{PostingID: "B-TB0000000012", Kind: "payment", Kassenzeichen: "TB0000000012", AmountCents: 450, Currency: "EUR", ValueDate: day, BookingDate: day,
			Sachkonto: "4321000", BookingText: "=Eintritt; \"Erwachsene\"", PaymentReference: "TRMREF1", BookingCode: "8TM9CPXR"},
		{PostingID: "S-TB0000000020", Kind: "storno", Kassenzeichen: "TB0000000020", AmountCents: -2800, Currency: "EUR", ValueDate: day, BookingDate: day,
			Sachkonto: "4321000", BookingText: "Reisepass – Gebühr für Müller-Lüdenscheidt", PaymentReference: "TRMREF2", BookingCode: "K7Q2MZ4D"},
	}
}

func (l *ledgerFake) ListPostings(_ context.Context, f payment.PostingFilter) ([]payment.Posting, error) {
	l.mu.Lock()
	l.postings = f
	l.mu.Unlock()
	return fakePostings(), nil
}

func (l *ledgerFake) ListPayments(_ context.Context, f payment.PaymentFilter) ([]payment.Payment, error) {
	l.mu.Lock()
	l.payments = f
	l.mu.Unlock()
	return fakePayments(), nil
}

func (l *ledgerFake) PaymentByReference(_ context.Context, ref string) (*payment.Payment, error) {
	for _, p := range fakePayments() {
		if p.Reference == ref {
			return &p, nil
		}
	}
	return nil, payment.ErrPaymentNotFound
}

func (l *ledgerFake) PaymentByBooking(context.Context, int64) (*payment.Payment, error) {
	p := fakePayments()[0]
	return &p, nil
}

func (l *ledgerFake) PostingsByReference(_ context.Context, refs []string) ([]payment.Posting, error) {
	var out []payment.Posting
	for _, p := range fakePostings() {
		if contains(refs, p.PaymentReference) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (l *ledgerFake) ListOutbox(context.Context, string, int) ([]payment.OutboxItem, error) {
	return []payment.OutboxItem{{ID: 7, Kind: payment.JobPostingHTTP, Reference: "TRMREF1", PostingID: "B-TB0000000012", AmountCents: 450,
		State: "dead", Attempts: 8, LastError: "treasury answered 503", CreatedAt: fakePaid}}, nil
}

func (l *ledgerFake) RetryDeadLetter(_ context.Context, id int64, _ time.Time) error {
	if id != 7 {
		return payment.ErrNotDeadLetter
	}
	l.mu.Lock()
	l.retried = append(l.retried, id)
	l.mu.Unlock()
	return nil
}

func (l *ledgerFake) Reconcile(_ context.Context, settlementFile, statementFile []byte, breakdowns [][]byte) (*reconcile.Reconciliation, error) {
	if !bytes.HasPrefix(settlementFile, []byte("settlement")) {
		return nil, ErrSettlementUnreadable
	}
	if !bytes.HasPrefix(statementFile, []byte("<?xml")) {
		return nil, ErrStatementUnreadable
	}
	for _, b := range breakdowns {
		if !bytes.HasPrefix(b, []byte("<?xml")) {
			return nil, ErrBreakdownUnreadable
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.uploads = append(l.uploads, [2][]byte{settlementFile, statementFile})
	r := fakeRun()
	r.ID = int64(len(l.runs) + 1)
	l.runs = append(l.runs, *r)
	return r, nil
}

func (l *ledgerFake) RefundTasks(_ context.Context, f payment.RefundTaskFilter) ([]payment.RefundTask, error) {
	done := fakePaid.Add(time.Hour)
	tasks := map[string][]payment.RefundTask{
		"open": {{ID: 5, Reference: "TRMREF2", BookingCode: "K7Q2MZ4D", Platform: "epay21", PlatformID: "EP-2", Kassenzeichen: "TB0000000020",
			AmountCents: 2800, Currency: "EUR", Reason: "booking cancelled in time", CreatedAt: fakePaid}},
		"done": {{ID: 4, Reference: "TRMREF1", BookingCode: "8TM9CPXR", Platform: "epay21", PlatformID: "EP-1", Kassenzeichen: "TB0000000012",
			AmountCents: 450, Currency: "EUR", Reason: "paid after expiry", CreatedAt: fakePaid, DoneBy: "Kasse", DoneAt: &done, Note: "Gutschrift 4711",
			StornoPostingID: "S-TB0000000012"}},
	}
	l.mu.Lock()
	l.refundFilter = f
	l.mu.Unlock()
	return tasks[f.State], nil
}

func (l *ledgerFake) CompleteRefund(_ context.Context, id int64, doneBy, note string) (payment.RefundTask, error) {
	switch id {
	case 5:
		l.mu.Lock()
		l.refunded = append(l.refunded, doneBy+": "+note)
		l.mu.Unlock()
		return payment.RefundTask{ID: 5}, nil
	case 4:
		return payment.RefundTask{}, payment.ErrRefundTaskDone
	}
	return payment.RefundTask{}, payment.ErrRefundTaskNotFound
}

func fakeRun() *reconcile.Reconciliation {
	return &reconcile.Reconciliation{ID: 1, SettlementDate: "2030-01-06", PayoutID: "PO-20300106", PayoutCents: 420, BankPayout: 420,
		StatementID: "ST-1", FeeTotalCents: 30, CreatedAt: fakePaid,
		Counts: map[string]int{reconcile.RecMatched: 1, reconcile.RecPaidNotPosted: 1},
		Items: []reconcile.RecItem{
			{Category: reconcile.RecMatched, Reference: "TRMREF1", Kassenzeichen: "TB0000000012", PostingID: "B-TB0000000012", SettlementCents: 450, PostedCents: 450, BankCents: 450},
			{Category: reconcile.RecPaidNotPosted, Reference: "TRMUNKNOWN", Kassenzeichen: "TB0000000038", SettlementCents: 900, Detail: "no posting"},
		},
		Fees: []reconcile.RecFee{{Reference: "TRMREF1", PlatformID: "EP-1", FeeCents: 30}},
		Statements: []reconcile.StatementInfo{{Account: "DE02120300000000202051", StatementID: "ST-1", ElectronicSeq: 12, Entries: 3, PayoutAccount: true,
			From: fakePaid, To: fakePaid}},
		Warnings: []reconcile.Warning{
			{Code: reconcile.WarnSequenceGap, StatementID: "ST-1", Account: "DE02120300000000202051", Expected: 11, Found: 12, Detail: "statement 11 is missing"},
			{Code: reconcile.WarnBatchFlagged, Reason: "sum_differs", StatementID: "ST-1", Entry: 2, BankReference: "BANKREF2", AmountCents: 1000,
				Expected: 1000, Found: 900, Detail: "the transactions add up to 9.00"},
			{Code: reconcile.WarnDuplicateStatement, StatementID: "ST-1", EarlierRunID: 1, Detail: "imported in run 1"},
		}}
}

func (l *ledgerFake) Reconciliation(_ context.Context, id int64) (*reconcile.Reconciliation, error) {
	if id != 1 {
		return nil, reconcile.ErrNotFound
	}
	return fakeRun(), nil
}

func (l *ledgerFake) ReconciliationRuns(context.Context, int) ([]reconcile.Reconciliation, error) {
	r := fakeRun()
	r.Items, r.Fees = nil, nil
	return []reconcile.Reconciliation{*r}, nil
}

func (l *ledgerFake) BookingByCode(_ context.Context, code string) (*booking.Booking, error) {
	if code != "8TM9CPXR" {
		return nil, booking.ErrBookingNotFound
	}
	return &booking.Booking{ID: 1, Code: code, LocationID: "amt", ServiceID: "pass", Start: fakeStart, End: fakeStart.Add(20 * time.Minute),
		Units: []int{0}, Status: booking.StatusConfirmed, CreatedAt: fakePaid}, nil
}

func (l *ledgerFake) Activity(_ context.Context, location string, from, to booking.Date, _ time.Time) ([]booking.HourStats, error) {
	return []booking.HourStats{
		{Day: from, Hour: 9, Booked: 6, Cancelled: 1, Due: 6, NoShows: 1, WalkIns: 4, CheckIns: 5, Waited: 9, WaitTotal: 90 * time.Minute, Served: 9, ServiceTotal: 135 * time.Minute},
		{Day: from.AddDays(1), Hour: 10, Booked: 8, Due: 8, WalkIns: 7, CheckIns: 8, Waited: 15, WaitTotal: 300 * time.Minute, Served: 15, ServiceTotal: 225 * time.Minute},
		{Day: to, Hour: 14, Booked: 3, Cancelled: 2, Due: 3, NoShows: 2, WalkIns: 2, CheckIns: 1, Waited: 3, WaitTotal: 15 * time.Minute, Served: 2, ServiceTotal: 30 * time.Minute},
	}, nil
}

func (l *ledgerFake) Occupancy(_ context.Context, _ string, day booking.Date) ([]booking.SlotOccupancy, error) {
	tz, _ := time.LoadLocation("Europe/Berlin")
	var out []booking.SlotOccupancy
	for h := 8; h < 12; h++ {
		out = append(out, booking.SlotOccupancy{Start: time.Date(day.Year, day.Month, day.Day, h, 0, 0, 0, tz), Units: h * 3 % 10, Capacity: 10})
	}
	return out, nil
}

func (l *ledgerFake) Expected(context.Context, string, booking.Date, int) ([]booking.ExpectedHour, error) {
	return []booking.ExpectedHour{{Hour: 8, Appointments: 4, WalkInsAverage: 2.5}, {Hour: 9, Appointments: 6, WalkInsAverage: 4.25}, {Hour: 10, WalkInsAverage: 1}}, nil
}

// financeApp serves the finance and statistics pages on fakes.
func financeApp(t *testing.T, l *ledgerFake, exportDir string) *fiber.App {
	t.Helper()
	return financeAppAs(t, l, exportDir, &accountsFake{roles: []account.Role{account.Role(auth.RoleFinance), account.Role(auth.RoleAdmin)}})
}

// testSession is the login session the page tests send.
const testSession = "test-session"

// otherAccountSteps are the account steps the finance pages never take.
type otherAccountSteps interface{ Accounts }

// accountsFake admits testSession as its account.
type accountsFake struct {
	otherAccountSteps
	roles    []account.Role
	location string
}

func (a *accountsFake) Session(_ context.Context, id string) (*account.Session, *account.Account, error) {
	if id != testSession {
		return nil, nil, account.ErrNoSession
	}
	return &account.Session{AccountID: 1}, &account.Account{ID: 1, Login: "kasse", DisplayName: "Kasse", Roles: a.roles, LocationID: a.location}, nil
}

func financeAppAs(t *testing.T, l *ledgerFake, exportDir string, accounts *accountsFake) *fiber.App {
	t.Helper()
	f := &fakes{}
	h := &Handler{Catalog: f, Reservations: f, Bookings: f, Key: []byte("k"), SigningKey: testSigningKey,
		Ledger: l, Reconciliations: l, StaffBookings: l, Stats: l, Refunds: l, ExportDir: exportDir, Accounts: accounts,
		Now: func() time.Time { return fakeNow }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	app := fiber.New()
	h.Routes(app)
	return app
}

func fetch(t *testing.T, app *fiber.App, method, path string, body io.Reader, contentType string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept-Language", "de")
	req.Header.Set("Cookie", staffCookie+"="+testSession)
	res, err := app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type") + " " + res.Header.Get("Location"), string(b)
}

func writeExports(t *testing.T) string {
	dir := t.TempDir()
	name := "termin-buchungen-2030-01-06.csv"
	for n, data := range map[string]string{name: "satzart;x\n", name + ".sha256": "ab12cd34  " + name + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFinancePages(t *testing.T) {
	l := &ledgerFake{}
	app := financeApp(t, l, writeExports(t))
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/intern/kasse", 200, []string{"/intern/kasse/abgleich"}},
		{"/intern/kasse/zahlungen", 200, []string{"TRMREF1", "4,50 €", "erstattet", `href="/intern/kasse/termine/8TM9CPXR"`, "2 Einträge"}},
		{"/intern/kasse/zahlungen?von=2030-01-01&bis=2030-01-06&status=paid&standort=amt&dienst=pass&kassenzeichen=TB1&referenz=R", 200, []string{`value="TB1"`}},
		{"/intern/kasse/zahlungen?von=gestern&bis=2029-01-01&status=nonsense&standort=mars", 400, []string{`href="#von"`, `href="#status"`, `href="#standort"`, `aria-invalid="true"`, `value="gestern"`}},
		{"/intern/kasse/zahlungen?von=2030-01-06&bis=2030-01-01", 400, []string{`href="#bis"`}},
		{"/intern/kasse/zahlungen/TRMREF1", 200, []string{"B-TB0000000012", "EP-1", "paypal"}},
		{"/intern/kasse/zahlungen/NOPE", 404, nil},
		{"/intern/kasse/buchungen?status=storno", 200, []string{"S-TB0000000020", "-28,00 €", "Storno"}},
		{"/intern/kasse/termine/8TM9CPXR", 200, []string{"Amt", "TRMREF1"}},
		{"/intern/kasse/termine/NOPE", 404, nil},
		{"/intern/kasse/exporte", 200, []string{"termin-buchungen-2030-01-06.csv", "ab12cd34", ".csv.sha256"}},
		{"/intern/kasse/exporte/termin-buchungen-2030-01-06.csv.sha256", 200, []string{"ab12cd34"}},
		{"/intern/kasse/exporte/..%2Fpasswd", 404, nil},
		{"/intern/kasse/exporte/termin-buchungen-2030-01-07.csv", 404, nil},
		{"/intern/kasse/abgleich", 200, []string{`enctype="multipart/form-data"`, "PO-20300106", `href="/intern/kasse/abgleich/1"`}},
		{"/intern/kasse/abgleich/1", 200, []string{"bezahlt, nicht gebucht", `href="/intern/kasse/zahlungen/TRMUNKNOWN"`, `href="/intern/kasse/termine/8TM9CPXR"`, "1 Abweichung ist zu klären",
			"Kontoauszug fehlt", "erwartet 11, gefunden 12", "Sammelbuchung nicht aufteilbar (Summe weicht ab)", "erwartet 10,00 €, gefunden 9,00 €", `<span lang="en" class="meta">statement 11 is missing</span>`,
			"3 Hinweise zum Kontoauszug", "DE02120300000000202051", "ja (Auszahlungskonto)"}},
		{"/intern/kasse/abgleich/2", 404, nil},
		{"/intern/kasse/abgleich/x", 404, nil},
		{"/intern/kasse/fehler", 200, []string{"treasury answered 503", `action="/intern/kasse/fehler/7/wiederholen"`}},
	}
	for _, tt := range tests {
		status, _, body := fetch(t, app, "GET", tt.path, nil, "")
		if status != tt.status {
			t.Errorf("%s: %d, want %d\n%s", tt.path, status, tt.status, body)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", tt.path, w)
			}
		}
	}
	// The filter reaches the store as typed.
	fetch(t, app, "GET", "/intern/kasse/zahlungen?von=2030-01-01&bis=2030-01-06&standort=amt&dienst=pass&referenz=R", nil, "")
	if f := l.payments; f.Location != "amt" || f.Service != "pass" || f.Reference != "R" || f.From.Format(time.RFC3339) != "2030-01-01T00:00:00+01:00" ||
		f.To.Format(time.RFC3339) != "2030-01-07T00:00:00+01:00" {
		t.Errorf("payment filter %+v", f)
	}
	fetch(t, app, "GET", "/intern/kasse/buchungen?von=2030-01-01&bis=2030-01-06&status=storno&kassenzeichen=TB0000000020", nil, "")
	if f := l.postings; f.Kind != "storno" || f.Kassenzeichen != "TB0000000020" || f.To.Format(time.DateOnly) != "2030-01-06" {
		t.Errorf("posting filter %+v", f)
	}
}

func TestFinanceCSV(t *testing.T) {
	app := financeApp(t, &ledgerFake{}, "")
	status, head, body := fetch(t, app, "GET", "/intern/kasse/buchungen.csv?status=payment", nil, "")
	if status != 200 || !strings.HasPrefix(head, "text/csv; charset=utf-8") || !strings.HasPrefix(body, "\ufeffbuchungs_id;art;") {
		t.Fatalf("postings CSV: %d %s\n%s", status, head, body)
	}
	// The booking text starts with "=": defused, and quoted for its ";".
	if !strings.Contains(body, `;4,50;EUR;06.01.2030;`) || !strings.Contains(body, `;"'=Eintritt; ""Erwachsene""";`) || !strings.Contains(body, ";-28,00;") {
		t.Fatalf("postings CSV rows:\n%s", body)
	}
	status, _, body = fetch(t, app, "GET", "/intern/kasse/zahlungen.csv", nil, "")
	if status != 200 || !strings.Contains(body, "TRMREF2;TB0000000020;K7Q2MZ4D;pass;Pass;1;28,00;EUR;refunded;") {
		t.Fatalf("payments CSV: %d\n%s", status, body)
	}
	if status, _, _ := fetch(t, app, "GET", "/intern/kasse/zahlungen.csv?von=x", nil, ""); status != 400 {
		t.Fatalf("CSV of an invalid filter: %d", status)
	}
	status, _, body = fetch(t, app, "GET", "/intern/kasse/abgleich/1/csv", nil, "")
	if status != 200 || !strings.Contains(body, "paid_not_posted;TRMUNKNOWN;TB0000000038;;;9,00;0,00;0,00;no posting") || !strings.Contains(body, "platform_fee;TRMREF1;;EP-1;;0,30") ||
		!strings.Contains(body, "warning_batch_flagged;BANKREF2;;ST-1;;;;10,00;the transactions add up to 9.00") {
		t.Fatalf("run CSV: %d\n%s", status, body)
	}
}

// multipartBody builds the upload form; a nil file is left out.
func multipartBody(t *testing.T, files map[string][]byte) (io.Reader, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("csrf", sessionCSRF(testSession))
	for name, data := range files {
		if data == nil {
			continue
		}
		fw, err := w.CreateFormFile(name, name+".dat")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

func TestReconciliationUpload(t *testing.T) {
	l := &ledgerFake{}
	app := financeApp(t, l, "")
	good := map[string][]byte{"settlement": []byte("settlement;2030-01-06"), "camt053": []byte("<?xml version=\"1.0\"?><Document/>")}
	tests := []struct {
		name   string
		files  map[string][]byte
		status int
		want   []string
	}{
		{"nothing chosen", map[string][]byte{}, 400, []string{`href="#settlement"`, `href="#camt053"`, `id="settlement-error"`}},
		{"statement missing", map[string][]byte{"settlement": good["settlement"]}, 400, []string{`href="#camt053"`, "Kontoauszug (camt.053, XML-Datei)"}},
		{"too large", map[string][]byte{"settlement": bytes.Repeat([]byte("x"), maxUploadFile+1), "camt053": good["camt053"]}, 400,
			[]string{`href="#settlement"`, "höchstens 120 KB"}},
		{"not a settlement", map[string][]byte{"settlement": []byte("hello"), "camt053": good["camt053"]}, 422, []string{`id="settlement-error"`, "keine lesbare Abrechnung"}},
		{"not a statement", map[string][]byte{"settlement": good["settlement"], "camt053": []byte("hello")}, 422, []string{`id="camt053-error"`, "kein lesbarer Kontoauszug"}},
		{"not a breakdown", map[string][]byte{"settlement": good["settlement"], "camt053": good["camt053"], "camt054": []byte("hello")}, 422, []string{`id="camt054-error"`, "camt.054"}},
	}
	for _, tt := range tests {
		body, ct := multipartBody(t, tt.files)
		status, _, page := fetch(t, app, "POST", "/intern/kasse/abgleich", body, ct)
		if status != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, status, tt.status)
		}
		for _, w := range tt.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: page lacks %q", tt.name, w)
			}
		}
	}
	body, ct := multipartBody(t, good)
	status, head, _ := fetch(t, app, "POST", "/intern/kasse/abgleich", body, ct)
	if status != 303 || !strings.HasSuffix(head, " /intern/kasse/abgleich/1") || len(l.uploads) != 1 || string(l.uploads[0][0]) != string(good["settlement"]) {
		t.Fatalf("upload: %d %q %d", status, head, len(l.uploads))
	}
}

func TestDeadLetterRetry(t *testing.T) {
	l := &ledgerFake{}
	app := financeApp(t, l, "")
	form := strings.NewReader(url.Values{"csrf": {sessionCSRF(testSession)}}.Encode())
	status, head, _ := fetch(t, app, "POST", "/intern/kasse/fehler/7/wiederholen", form, "application/x-www-form-urlencoded")
	if status != 303 || !strings.HasSuffix(head, "/intern/kasse/fehler?erneut=7") || len(l.retried) != 1 {
		t.Fatalf("retry: %d %q %v", status, head, l.retried)
	}
	if _, _, page := fetch(t, app, "GET", "/intern/kasse/fehler?erneut=7", nil, ""); !strings.Contains(page, "Auftrag 7 wird erneut zugestellt") {
		t.Fatal("no notice after the retry")
	}
	if status, _, _ := fetch(t, app, "POST", "/intern/kasse/fehler/8/wiederholen", strings.NewReader("csrf="+sessionCSRF(testSession)), "application/x-www-form-urlencoded"); status != 409 {
		t.Fatalf("retry of a job that is not dead: %d", status)
	}
	if status, _, _ := fetch(t, app, "POST", "/intern/kasse/fehler/x/wiederholen", strings.NewReader("csrf="+sessionCSRF(testSession)), "application/x-www-form-urlencoded"); status != 404 {
		t.Fatalf("retry of no job: %d", status)
	}
}

// Finance pages are for finance staff and administrators; statistics for
// administrators and desk leads, a desk lead seeing only its location.
func TestFinanceAndStatisticsRoles(t *testing.T) {
	as := func(location string, roles ...auth.Role) *fiber.App {
		a := &accountsFake{location: location}
		for _, r := range roles {
			a.roles = append(a.roles, account.Role(r))
		}
		return financeAppAs(t, &ledgerFake{}, "", a)
	}
	tests := []struct {
		name   string
		app    *fiber.App
		path   string
		status int
	}{
		{"desk on finance", as("", auth.RoleDesk), "/intern/kasse/zahlungen", 403},
		{"desk lead on finance", as("amt", auth.RoleDeskLead), "/intern/kasse", 403},
		{"finance on statistics", as("", auth.RoleFinance), "/intern/statistik", 403},
		{"desk on statistics", as("", auth.RoleDesk), "/intern/statistik/morgen", 403},
		{"desk lead on its location", as("amt", auth.RoleDeskLead), "/intern/statistik/morgen?standort=amt", 200},
		{"desk lead without a choice", as("amt", auth.RoleDeskLead), "/intern/statistik", 200},
		{"desk lead on another location", as("amt", auth.RoleDeskLead), "/intern/statistik?standort=bad", 403},
		{"admin on statistics", as("", auth.RoleAdmin), "/intern/statistik/belegung", 200},
		{"admin on finance", as("", auth.RoleAdmin), "/intern/kasse/fehler", 200},
	}
	for _, tt := range tests {
		if status, _, _ := fetch(t, tt.app, "GET", tt.path, nil, ""); status != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, status, tt.status)
		}
	}
	// Administrators read the finance pages but change nothing there.
	admin := as("", auth.RoleAdmin)
	form := url.Values{"csrf": {sessionCSRF(testSession)}}.Encode()
	for _, path := range []string{"/intern/kasse/fehler/7/wiederholen", "/intern/kasse/erstattungen/5/erledigt", "/intern/kasse/abgleich"} {
		if status, _, _ := fetch(t, admin, "POST", path, strings.NewReader(form), "application/x-www-form-urlencoded"); status != 403 {
			t.Errorf("admin POST %s: %d", path, status)
		}
	}
	for _, path := range []string{"/intern/kasse/fehler", "/intern/kasse/erstattungen", "/intern/kasse/abgleich"} {
		if status, _, page := fetch(t, admin, "GET", path, nil, ""); status != 200 || strings.Contains(page, `method="post" action="/intern/kasse/`) ||
			!strings.Contains(page, "ändern kann hier nur die Kasse") {
			t.Errorf("admin GET %s: %d, forms shown or no read-only note", path, status)
		}
	}
	// Without a session: to the login page, and back here afterwards.
	req := httptest.NewRequest("GET", "/intern/kasse/abgleich", nil)
	res, err := as("", auth.RoleFinance).Test(req)
	if err != nil || res.StatusCode != 303 || res.Header.Get("Location") != "/intern/anmelden?weiter=%2Fintern%2Fkasse%2Fabgleich" {
		t.Fatalf("no session: %v %d %s", err, res.StatusCode, res.Header.Get("Location"))
	}
}

// The postings download as a file, compared with testdata/postings.csv
// (a formula in the booking text, quotes, a Storno, umlauts).
func TestPostingsCSVGolden(t *testing.T) {
	app := financeApp(t, &ledgerFake{}, "")
	status, _, body := fetch(t, app, "GET", "/intern/kasse/buchungen.csv", nil, "")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	golden := filepath.Join("testdata", "postings.csv")
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if body != string(want) {
		t.Fatalf("postings CSV differs from %s:\n%q\nwant\n%q", golden, body, want)
	}
}

func TestRefundWorkList(t *testing.T) {
	l := &ledgerFake{}
	app := financeApp(t, l, "")
	status, _, page := fetch(t, app, "GET", "/intern/kasse/erstattungen", nil, "")
	if status != 200 || !strings.Contains(page, "TRMREF2") || !strings.Contains(page, `action="/intern/kasse/erstattungen/5/erledigt"`) || l.refundFilter.State != "open" {
		t.Fatalf("open refunds: %d %+v\n%s", status, l.refundFilter, page)
	}
	status, _, page = fetch(t, app, "GET", "/intern/kasse/erstattungen?status=erledigt", nil, "")
	if status != 200 || !strings.Contains(page, "Gutschrift 4711") || !strings.Contains(page, "S-TB0000000012") || l.refundFilter.State != "done" {
		t.Fatalf("done refunds: %d\n%s", status, page)
	}
	post := func(id, note string) (int, string, string) {
		form := url.Values{"csrf": {sessionCSRF(testSession)}, "note": {note}}
		return fetch(t, app, "POST", "/intern/kasse/erstattungen/"+id+"/erledigt", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	}
	status, head, _ := post("5", "Gutschrift 4712")
	if status != 303 || !strings.HasSuffix(head, "/intern/kasse/erstattungen?erledigt=5") || len(l.refunded) != 1 || l.refunded[0] != "Kasse: Gutschrift 4712" {
		t.Fatalf("mark done: %d %q %v", status, head, l.refunded)
	}
	long := strings.Repeat("x", payment.MaxRefundNoteLen+1)
	if status, _, page := post("5", long); status != 400 || !strings.Contains(page, `href="#note-5"`) || !strings.Contains(page, `id="note-5-error"`) || !strings.Contains(page, long) {
		t.Fatalf("note too long: %d", status)
	}
	if status, _, _ := post("4", ""); status != 409 {
		t.Fatalf("done before: %d", status)
	}
	if status, _, _ := post("99", ""); status != 404 {
		t.Fatalf("unknown task: %d", status)
	}
}
