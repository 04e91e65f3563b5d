package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/digitale-verwaltung/termin/payment/settlement"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/paysim"
)

const testNotifySecret = "push-secret"

type payServer struct {
	*testServer
	sim       *paysim.Server
	simURL    string
	simClient *http.Client
	exportDir string
}

type payOptions struct {
	platform string
	args     []string
	wrap     func(payment.Platform) payment.Platform
	// extensions switches on the simulator's pushed notifications.
	extensions bool
	// simConfig changes the simulator's configuration (authentication).
	simConfig func(*paysim.Config)
	// serve starts the simulator (over TLS, say); httptest.NewServer
	// when nil. simClient then reaches its /sim routes.
	serve     func(http.Handler) *httptest.Server
	simClient *http.Client
	// simArgs are more arguments that need the simulator's URL.
	simArgs func(simURL string) []string
}

// startPayServer runs the server with online payment against the platform
// simulator over real HTTP, on a fresh database and Redis keyspace. The
// sweeper and the outbox worker are not started: tests run them step by
// step.
func startPayServer(t *testing.T, o payOptions) *payServer {
	t.Helper()
	dbURL := servicetest.DatabaseURL(t, components...)
	rdb := servicetest.Redis(t)
	forgetPool(t, rdb, "stadtbad")
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sc := paysim.Config{Username: "city", Password: "secret", Mandant: "07111000", OriginatorID: "termin",
		EndPointID: "07111000", NotifyURL: public + "/api/v1/payments/notifications", NotifySecret: []byte(testNotifySecret), Logger: log,
		Extensions: o.extensions}
	if o.simConfig != nil {
		o.simConfig(&sc)
	}
	sim := paysim.New(sc)
	serve, simClient := o.serve, o.simClient
	if serve == nil {
		serve = httptest.NewServer
	}
	if simClient == nil {
		simClient = http.DefaultClient
	}
	simSrv := serve(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	url := simSrv.URL + paysim.Epay21Path
	if o.platform != "epay21" || slices.Contains(o.args, "xbezahldienste") {
		url = simSrv.URL + paysim.XBezahldienstePrefix
	}
	exportDir := t.TempDir()
	args := append([]string{"-db", dbURL, "-redis", rdb.Options().Addr, "-admin-api-key", testAdminKey,
		"-payment-platform", o.platform, "-payment-url", url, "-payment-user", "city", "-payment-password", "secret",
		"-public-url", public, "-notify-secret", testNotifySecret, "-export-dir", exportDir,
		"-payment-poll", "20ms", "-payment-poll-max", "100ms", "-free-cancel-before", "1h",
		"-rate-limit=0", "-pow-auto=0"}, o.args...)
	if o.simArgs != nil {
		args = append(args, o.simArgs(simSrv.URL)...)
	}
	cfg, err := loadConfig(args)
	if err != nil {
		t.Fatal(err)
	}
	if err := runSeed(ctx, cfg, log); err != nil {
		t.Fatal(err)
	}
	d, err := newDeps(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	d.rdb.Close()
	if err := d.useRedis(ctx, rdb); err != nil {
		t.Fatal(err)
	}
	if o.wrap != nil {
		d.platform = o.wrap(d.platform)
	}
	app := newApp(d)
	go app.Listener(ln)
	t.Cleanup(func() {
		app.ShutdownWithTimeout(5 * time.Second)
		d.db.Close()
	})
	return &payServer{testServer: &testServer{URL: public, deps: d, app: app, pool: "stadtbad"}, sim: sim, simURL: simSrv.URL,
		simClient: simClient, exportDir: exportDir}
}

type pendingBooking struct {
	Code        string
	Status      string
	ManageToken string `json:"manage_token"`
	PaymentURL  string `json:"payment_url"`
	Payment     struct {
		Reference     string
		Kassenzeichen string
		AmountCents   int64 `json:"amount_cents"`
		State         string
	}
}

// book holds units of the pool slot and books them; the pool's tickets are
// paid online.
func (s *payServer) book(t *testing.T, start string, units int) pendingBooking {
	t.Helper()
	id := s.mustHold(t, "stadtbad", "erwachsene", start, units)
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+id+`","name":"Erika Mustermann","email":"erika@example.org"}`)
	if res.Status != 201 {
		t.Fatalf("booking: %d %s", res.Status, res.Body)
	}
	var b pendingBooking
	res.decode(t, &b)
	if b.Status != booking.StatusPendingPayment || b.PaymentURL == "" || b.Payment.AmountCents != int64(450*units) || b.Payment.State != "initiated" {
		t.Fatalf("pending booking: %s", res.Body)
	}
	return b
}

func (s *payServer) payment(t *testing.T, ref string) *payment.Payment {
	t.Helper()
	p, err := s.deps.pay.store.PaymentByReference(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pay completes the payment in the simulator, as the citizen on the pay
// page; visit makes the simulator follow the return redirect.
func (s *payServer) pay(t *testing.T, ref string, visit bool) {
	t.Helper()
	id := s.payment(t, ref).PlatformID
	body := fmt.Sprintf(`{"outcome":"paid","method":"paypal","visitReturn":%v}`, visit)
	res, err := s.simClient.Post(s.simURL+"/sim/payments/"+id+"/complete", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("complete %s: %d", id, res.StatusCode)
	}
}

func (s *payServer) bookingStatus(t *testing.T, b pendingBooking) string {
	t.Helper()
	var out struct{ Status string }
	s.do(t, "GET", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer "+b.ManageToken).decode(t, &out)
	return out.Status
}

func (s *payServer) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.deps.db.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (s *payServer) sweep(t *testing.T) func() {
	return func() {
		if _, err := s.deps.pay.flow.Sweep(context.Background()); err != nil {
			t.Log("sweep:", err)
		}
	}
}

func (s *payServer) work(t *testing.T) {
	t.Helper()
	if err := s.deps.pay.worker.RunOnce(context.Background()); err != nil {
		t.Log("worker:", err)
	}
}

func (s *payServer) exported(t *testing.T) []payment.Posting {
	t.Helper()
	var all []payment.Posting
	files, _ := filepath.Glob(filepath.Join(s.exportDir, "termin-buchungen-*.csv"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := os.ReadFile(name + ".sha256")
		if err != nil || string(sum) != string(checksumOf(filepath.Base(name), data)) {
			t.Fatalf("checksum file of %s: %q %v", name, sum, err)
		}
		ps, err := payment.ParseExport(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		all = append(all, ps...)
	}
	return all
}

func checksumOf(name string, data []byte) []byte {
	return []byte(sha256Hex(data) + "  " + name + "\n")
}

func (s *payServer) reconcile(t *testing.T) map[string]any {
	t.Helper()
	return s.reconcileWith(t, 1, nil)
}

// reconcileWith reconciles today's settlement report with the statement
// of camtDays days later, after edit (when set) has changed the statement.
func (s *payServer) reconcileWith(t *testing.T, camtDays int, edit func(settle, camt []byte) []byte) map[string]any {
	t.Helper()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	today := time.Now().In(berlin)
	get := func(path string) []byte {
		res, err := http.Get(s.simURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return b
	}
	settle := get("/sim/settlement?date=" + today.Format(time.DateOnly))
	camt := get("/sim/camt053?date=" + today.AddDate(0, 0, camtDays).Format(time.DateOnly))
	if edit != nil {
		camt = edit(settle, camt)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for name, data := range map[string][]byte{"settlement": settle, "camt053": camt} {
		w, _ := mw.CreateFormFile(name, name)
		w.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/finance/reconciliations", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	res, err := apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 201 {
		t.Fatalf("reconciliation: %d %s", res.StatusCode, raw)
	}
	var run map[string]any
	if err := json.Unmarshal(raw, &run); err != nil {
		t.Fatal(err)
	}
	return run
}

func TestPaymentEndToEnd(t *testing.T) {
	for _, platform := range []string{"epay21", "xbezahldienste"} {
		t.Run(platform, func(t *testing.T) {
			s := startPayServer(t, payOptions{platform: platform})
			start := s.poolSlot(t)
			b := s.book(t, start, 2)
			if free := s.free(t, start); free != 148 {
				t.Fatalf("units not occupied while payment pending: %d free", free)
			}
			if s.bookingStatus(t, b) != booking.StatusPendingPayment {
				t.Fatal("booking not pending")
			}
			// The citizen pays on the pay page and is sent back.
			s.pay(t, b.Payment.Reference, true)
			if st := s.bookingStatus(t, b); st != booking.StatusConfirmed {
				t.Fatalf("after return: booking %s", st)
			}
			if p := s.payment(t, b.Payment.Reference); p.State != payment.StatePaid || p.Method != "paypal" {
				t.Fatalf("payment after return: %+v", p)
			}
			s.work(t)
			p := s.payment(t, b.Payment.Reference)
			if p.State != payment.StateConfirmed {
				t.Fatalf("payment not confirmed at the platform: %s", p.State)
			}
			if platform == "epay21" {
				if sp, _ := s.sim.Payment(p.PlatformID); sp.State != paysim.StateConfirmed {
					t.Fatalf("simulator state %s", sp.State)
				}
			}
			// The posting is in the export file with its account assignment.
			ps := s.exported(t)
			if len(ps) != 1 || ps[0].Kassenzeichen != b.Payment.Kassenzeichen || ps[0].AmountCents != 900 ||
				ps[0].Haushaltsstelle != "4240.1100" || ps[0].BookingCode != b.Code || ps[0].PlatformID != p.PlatformID {
				t.Fatalf("export: %+v", ps)
			}
			// Finance sees it and reconciles it with the bank.
			res := s.do(t, "GET", "/api/v1/finance/postings", "", "Authorization", "Bearer "+testAdminKey)
			if res.Status != 200 || !bytes.Contains(res.Body, []byte(b.Payment.Kassenzeichen)) {
				t.Fatalf("finance postings: %d %s", res.Status, res.Body)
			}
			run := s.reconcile(t)
			counts := run["counts"].(map[string]any)
			if counts["matched"] != 1.0 || len(counts) != 1 || run["fee_total_cents"].(float64) <= 0 || run["bank_payout_cents"] != run["payout_cents"] {
				t.Fatalf("reconciliation: %v", run)
			}
			id := fmt.Sprint(run["id"])
			if res := s.do(t, "GET", "/api/v1/finance/reconciliations/"+id+"/csv", "", "Authorization", "Bearer "+testAdminKey); res.Status != 200 ||
				!bytes.Contains(res.Body, []byte("matched;"+b.Payment.Reference)) || !bytes.Contains(res.Body, []byte("platform_fee")) {
				t.Fatalf("csv: %d %s", res.Status, res.Body)
			}
			if res := s.do(t, "GET", "/api/v1/finance/exports", "", "Authorization", "Bearer "+testAdminKey); res.Status != 200 || !bytes.Contains(res.Body, []byte("termin-buchungen-")) {
				t.Fatalf("exports: %d %s", res.Status, res.Body)
			}
			if res := s.do(t, "GET", "/api/v1/finance/payments?state=confirmed", ""); res.Status != 401 {
				t.Fatalf("finance without key: %d", res.Status)
			}
		})
	}
}

func TestCitizenNeverReturns(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	s.sim.SetFaults(paysim.Faults{NeverReturn: true})
	b := s.book(t, s.poolSlot(t), 1)
	s.pay(t, b.Payment.Reference, true)
	if s.bookingStatus(t, b) != booking.StatusPendingPayment {
		t.Fatal("confirmed without a return or a sweep")
	}
	servicetest.Eventually(t, "sweeper confirms", 10*time.Second, func() bool { s.sweep(t)(); return s.bookingStatus(t, b) == booking.StatusConfirmed })
}

func TestDuplicateReturnAndPushesConfirmOnce(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21", extensions: true})
	s.sim.SetFaults(paysim.Faults{DuplicateReturn: true, Notify: paysim.NotifyFaults{Enabled: true, Duplicate: true, Reorder: true}})
	start := s.poolSlot(t)
	a, b := s.book(t, start, 1), s.book(t, start, 1)
	s.pay(t, a.Payment.Reference, true)
	s.pay(t, b.Payment.Reference, true)
	for range 3 {
		s.do(t, "GET", "/api/v1/payments/"+a.Payment.Reference+"/return?state=paid", "", "Accept", "application/json")
	}
	servicetest.Eventually(t, "pushes arrive", 10*time.Second, func() bool {
		return s.count(t, `SELECT count(*) FROM payment_inbox WHERE kind = 'notify' AND verified`) >= 2
	})
	for _, x := range []pendingBooking{a, b} {
		if s.bookingStatus(t, x) != booking.StatusConfirmed {
			t.Fatalf("%s not confirmed", x.Code)
		}
	}
	s.work(t)
	if n := s.count(t, `SELECT count(*) FROM postings`); n != 2 {
		t.Fatalf("%d postings, want 2", n)
	}
	if n := s.count(t, `SELECT count(*) FROM payment_outbox WHERE kind = 'platform_confirm'`); n != 2 {
		t.Fatalf("%d platform confirmations queued, want 2", n)
	}
	if ps := s.exported(t); len(ps) != 2 {
		t.Fatalf("export: %+v", ps)
	}
}

func TestForgedPushIsRejected(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	b := s.book(t, s.poolSlot(t), 1)
	p := s.payment(t, b.Payment.Reference)
	body := fmt.Sprintf(`{"eventId":"ev-x","platformId":"%s","reference":"%s","type":"payment.paid"}`, p.PlatformID, p.Reference)
	for _, sig := range []string{"", "sha256=00", payment.SignNotification([]byte("wrong"), []byte(body))} {
		res := s.do(t, "POST", "/api/v1/payments/notifications", body, payment.SignatureHeader, sig)
		if res.Status != 401 || !bytes.Contains(res.Body, []byte("signature_invalid")) {
			t.Fatalf("forged push: %d %s", res.Status, res.Body)
		}
	}
	if n := s.count(t, `SELECT count(*) FROM payment_inbox WHERE kind = 'notify' AND NOT verified`); n != 3 {
		t.Fatalf("rejected pushes stored: %d", n)
	}
	// A correctly signed push still changes nothing until the platform says paid.
	res := s.do(t, "POST", "/api/v1/payments/notifications", body, payment.SignatureHeader, payment.SignNotification([]byte(testNotifySecret), []byte(body)))
	if res.Status != 202 || s.bookingStatus(t, b) != booking.StatusPendingPayment || s.payment(t, p.Reference).State != payment.StateInitiated {
		t.Fatalf("signed push of an unpaid payment: %d %s", res.Status, res.Body)
	}
}

// tamper reports a different amount than the platform holds, as a
// manipulated or broken platform answer would.
type tamper struct{ payment.Platform }

func (t tamper) Status(ctx context.Context, ref payment.Ref) (payment.StatusReport, error) {
	rep, err := t.Platform.Status(ctx, ref)
	rep.AmountCents = 1
	return rep, err
}

func TestTamperedAmountIsRejected(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "xbezahldienste", wrap: func(p payment.Platform) payment.Platform { return tamper{p} }})
	b := s.book(t, s.poolSlot(t), 1)
	s.pay(t, b.Payment.Reference, true)
	s.sweep(t)()
	if st := s.bookingStatus(t, b); st != booking.StatusPendingPayment {
		t.Fatalf("booking %s after a tampered amount", st)
	}
	if p := s.payment(t, b.Payment.Reference); p.State != payment.StateInitiated || s.count(t, `SELECT count(*) FROM postings`) != 0 {
		t.Fatalf("payment changed: %+v", p)
	}
}

func TestStatusFailuresAreRetried(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	b := s.book(t, s.poolSlot(t), 1)
	s.sim.SetFaults(paysim.Faults{StatusFailNext: 4})
	s.pay(t, b.Payment.Reference, true) // the return's status query fails
	if s.bookingStatus(t, b) != booking.StatusPendingPayment {
		t.Fatal("confirmed although the status query failed")
	}
	servicetest.Eventually(t, "retries succeed", 10*time.Second, func() bool { s.sweep(t)(); return s.bookingStatus(t, b) == booking.StatusConfirmed })
	if n := s.count(t, `SELECT count(*) FROM postings`); n != 1 {
		t.Fatalf("%d postings", n)
	}
}

func TestPlatformDownAtCreateFreesUnits(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21", args: []string{"-payment-url", "http://127.0.0.1:1/epay21/soap"}})
	start := s.poolSlot(t)
	res := s.do(t, "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"`+start+`","units":3}`)
	var h struct{ ID string }
	res.decode(t, &h)
	res = s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+h.ID+`","name":"A","email":"a@example.org"}`)
	if res.Status != 503 || !bytes.Contains(res.Body, []byte(`"payment_unavailable"`)) || !bytes.Contains(res.Body, []byte("message_de")) {
		t.Fatalf("platform down: %d %s", res.Status, res.Body)
	}
	if free := s.free(t, start); free != 150 {
		t.Fatalf("%d free after failed create", free)
	}
}

func TestLatePaymentIsBookedAgain(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "xbezahldienste", args: []string{"-payment-timeout", "300ms"}})
	start := s.poolSlot(t)
	b := s.book(t, start, 2)
	time.Sleep(400 * time.Millisecond)
	s.sweep(t)()
	if p := s.payment(t, b.Payment.Reference); p.State != payment.StateExpired || s.free(t, start) != 150 {
		t.Fatalf("not expired: %+v", p)
	}
	// The platform's page was still open; the citizen pays late.
	s.pay(t, b.Payment.Reference, false)
	servicetest.Eventually(t, "late payment found", 10*time.Second, func() bool {
		s.sweep(t)()
		return s.payment(t, b.Payment.Reference).State == payment.StatePaid
	})
	p := s.payment(t, b.Payment.Reference)
	if p.BookingCode == b.Code || !strings.Contains(p.Note, "booked again") || s.free(t, start) != 148 {
		t.Fatalf("late payment: %+v, %d free", p, s.free(t, start))
	}
	// The citizen's manage token works for the new booking.
	nb := b
	nb.Code = p.BookingCode
	if st := s.bookingStatus(t, nb); st != booking.StatusConfirmed {
		t.Fatalf("rebooked booking %s", st)
	}
}

func TestLatePaymentIsRefundedWhenSlotIsFull(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "xbezahldienste", args: []string{"-payment-timeout", "300ms"}})
	start := s.poolSlot(t)
	b := s.book(t, start, 1)
	time.Sleep(400 * time.Millisecond)
	s.sweep(t)()
	// Others fill the slot meanwhile.
	ctx := context.Background()
	for i, left := 0, 150; left > 0; i++ {
		n := min(left, 8)
		h, err := s.deps.engine.PlaceHold(ctx, "stadtbad", "erwachsene", mustTime(t, start), n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.deps.engine.Book(ctx, h.ID, booking.Contact{Name: "B", Email: fmt.Sprintf("b%d@example.org", i)}, booking.BookOptions{Status: booking.StatusConfirmed}); err != nil {
			t.Fatal(err)
		}
		left -= n
	}
	s.pay(t, b.Payment.Reference, false)
	servicetest.Eventually(t, "late payment on the refund work list", 10*time.Second, func() bool {
		s.sweep(t)()
		s.work(t)
		return s.count(t, `SELECT count(*) FROM refund_tasks WHERE done_at IS NULL`) == 1
	})
	s.refundByHand(t, b.Payment.Reference)
	p := s.payment(t, b.Payment.Reference)
	if !strings.Contains(p.Note, "refunded") || p.RefundedCents != 450 {
		t.Fatalf("refund: %+v", p)
	}
	if n := s.count(t, `SELECT count(*) FROM postings WHERE kind = 'storno' AND amount_cents = -450`); n != 1 {
		t.Fatalf("%d Storno postings", n)
	}
}

func TestCancelPaidBookingRefundsWithStorno(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	start := s.poolSlot(t)
	b := s.book(t, start, 1)
	s.pay(t, b.Payment.Reference, true)
	s.work(t)
	if res := s.do(t, "DELETE", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer "+b.ManageToken); res.Status != 200 ||
		!bytes.Contains(res.Body, []byte(`"outcome":"refund"`)) || !bytes.Contains(res.Body, []byte(`4,50 €`)) {
		t.Fatalf("cancel: %d %s", res.Status, res.Body)
	}
	s.work(t)
	s.refundByHand(t, b.Payment.Reference)
	s.work(t)
	p := s.payment(t, b.Payment.Reference)
	if p.State != payment.StateRefunded {
		t.Fatalf("after cancel: %+v", p)
	}
	ps := s.exported(t)
	if len(ps) != 2 || ps[1].Kind != "storno" || ps[1].Reverses != ps[0].PostingID || ps[1].AmountCents != -450 {
		t.Fatalf("export after Storno: %+v", ps)
	}
	// Postings are never changed or deleted.
	for _, q := range []string{`UPDATE postings SET amount_cents = 1`, `DELETE FROM postings`} {
		if _, err := s.deps.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// treasury is a finance endpoint that fails its first calls and counts
// what it accepted per posting id.
type treasury struct {
	mu       sync.Mutex
	failNext int
	got      map[string]int
	calls    atomic.Int32
}

func (tr *treasury) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tr.calls.Add(1)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.failNext != 0 {
		if tr.failNext > 0 {
			tr.failNext--
		}
		w.WriteHeader(503)
		return
	}
	tr.got[r.Header.Get("Idempotency-Key")]++
	w.WriteHeader(201)
}

func TestTreasuryDownRetriesWithoutLossOrDuplicates(t *testing.T) {
	tr := &treasury{failNext: 3, got: map[string]int{}}
	srv := httptest.NewServer(tr)
	defer srv.Close()
	s := startPayServer(t, payOptions{platform: "epay21", args: []string{"-treasury-url", srv.URL}})
	start := s.poolSlot(t)
	var refs []string
	for range 3 {
		b := s.book(t, start, 1)
		s.pay(t, b.Payment.Reference, true)
		refs = append(refs, b.Payment.Reference)
	}
	// Two replicas' workers deliver at the same time.
	second := *s.deps.pay.worker
	var wg sync.WaitGroup
	for _, w := range []*payment.Worker{s.deps.pay.worker, &second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				_ = w.RunOnce(context.Background())
				if s.count(t, `SELECT count(*) FROM payment_outbox WHERE state = 'pending'`) == 0 {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.got) != 3 {
		t.Fatalf("treasury got %v", tr.got)
	}
	for id, n := range tr.got {
		if n != 1 {
			t.Fatalf("posting %s delivered %d times", id, n)
		}
	}
	if ps := s.exported(t); len(ps) != 3 {
		t.Fatalf("export: %d postings", len(ps))
	}
}

func TestTreasuryDeadLetters(t *testing.T) {
	tr := &treasury{failNext: -1, got: map[string]int{}}
	srv := httptest.NewServer(tr)
	defer srv.Close()
	s := startPayServer(t, payOptions{platform: "epay21", args: []string{"-treasury-url", srv.URL, "-treasury-max-attempts", "2"}})
	b := s.book(t, s.poolSlot(t), 1)
	s.pay(t, b.Payment.Reference, true)
	servicetest.Eventually(t, "dead letter", 10*time.Second, func() bool {
		s.work(t)
		return s.count(t, `SELECT count(*) FROM payment_outbox WHERE state = 'dead'`) == 1
	})
	res := s.do(t, "GET", "/api/v1/finance/dead-letters", "", "Authorization", "Bearer "+testAdminKey)
	if res.Status != 200 || !bytes.Contains(res.Body, []byte(`"posting_http"`)) || !bytes.Contains(res.Body, []byte("HTTP 503")) {
		t.Fatalf("dead letters: %d %s", res.Status, res.Body)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Finance must see every kind of disagreement between the settlement
// report, the bank statement and the postings, not only the happy case.
func TestReconciliationListsMismatches(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	b := s.book(t, s.poolSlot(t), 1)
	s.pay(t, b.Payment.Reference, true)
	s.work(t)
	// Paid at the platform, but the server never heard of it (no return,
	// no sweep yet): settled money without a posting.
	unseen := s.book(t, s.poolSlot(t), 1)
	s.pay(t, unseen.Payment.Reference, false)
	firstAmt := regexp.MustCompile(`(<Ntry>(?s:.*?)<Amt Ccy="EUR">)([0-9.]+)(</Amt>)`)
	entry := regexp.MustCompile(`(?s)<Ntry>.*?</Ntry>`)
	payoutID := func(settle []byte) string {
		rep, err := settlement.Parse(bytes.NewReader(settle))
		if err != nil {
			t.Fatal(err)
		}
		return rep.PayoutID
	}
	tests := []struct {
		name     string
		camtDays int
		edit     func(settle, camt []byte) []byte
		want     string
	}{
		{"paid but not posted", 1, nil, "paid_not_posted"},
		{"payout not on the statement", 5, nil, "posted_not_in_bank"},
		{"payout amount differs", 1, func(_, camt []byte) []byte {
			return firstAmt.ReplaceAll(camt, []byte("${1}1${2}${3}"))
		}, "amount_differs"},
		{"a credit nobody expects", 1, func(settle, camt []byte) []byte {
			ntry := entry.Find(camt)
			stranger := bytes.ReplaceAll(ntry, []byte(payoutID(settle)), []byte("Erstattung Gewerbesteuer 2025"))
			stranger = bytes.ReplaceAll(stranger, []byte("SIMBANK-"), []byte("OTHERBANK-"))
			return bytes.Replace(camt, ntry, append(append([]byte{}, ntry...), stranger...), 1)
		}, "bank_unmatched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := s.reconcileWith(t, tt.camtDays, tt.edit)
			counts := run["counts"].(map[string]any)
			if counts[tt.want] == nil {
				t.Fatalf("no %s in %v", tt.want, run)
			}
			if run["fee_total_cents"].(float64) <= 0 {
				t.Errorf("platform fees not listed: %v", run)
			}
		})
	}
}
