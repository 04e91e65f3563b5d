package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	bookingredis "github.com/digitale-verwaltung/termin/booking/redis"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/epay21"
	"github.com/digitale-verwaltung/termin/payment/paysim"
	paymentpg "github.com/digitale-verwaltung/termin/payment/postgres"
	"github.com/digitale-verwaltung/termin/payment/xbezahldienste"
)

// flowRig is the payment flow, the outbox worker and the sweeper on a
// fresh database and Redis keyspace, against the platform simulator over
// HTTP. One pool with a fee-paying ticket is open around the clock.
type flowRig struct {
	t         *testing.T
	db        *sqlx.DB
	engine    *booking.Engine
	store     *paymentpg.Store
	flow      *payment.Flow
	worker    *payment.Worker
	sim       *paysim.Server
	simURL    string
	exportDir string
	loc, svc  string
	start     time.Time // the slot every test books
}

const (
	ticketFee = 450
	capacity  = 3
)

type rigOptions struct {
	// platform is "epay21" (the default) or "xbezahldienste", which has
	// no confirm step.
	platform string
	timeout  time.Duration
	wrap     func(payment.Platform) payment.Platform
	// fees adds a ticket type per fee (service id feeService(fee)), for
	// payments of other amounts than ticketFee.
	fees []int64
}

// feeService is the id of the ticket type rigOptions.fees added for fee.
func (r *flowRig) feeService(fee int64) string { return fmt.Sprintf("%s-%d", r.svc, fee) }

func newFlowRig(t *testing.T, o rigOptions) *flowRig {
	t.Helper()
	db := servicetest.DB(t, bookingpg.Migrations, paymentpg.Migrations)
	rdb := servicetest.Redis(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	r := &flowRig{t: t, db: db, store: paymentpg.New(db), exportDir: t.TempDir(), loc: servicetest.RandomID("pool-")}
	r.svc = r.loc + "-ticket"
	opens, _ := booking.ParseClockTime("00:00")
	closes, _ := booking.ParseClockTime("24:00")
	var opening []booking.OpeningRule
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		opening = append(opening, booking.OpeningRule{Weekday: wd, Opens: opens, Closes: closes})
	}
	loc := booking.Location{ID: r.loc, Kind: booking.KindPool, Name: "Freibad", Timezone: "Europe/Berlin", Capacity: capacity,
		SlotMinutes: 60, BookingHorizonDays: 30, Opening: opening}
	svc := booking.Service{ID: r.svc, LocationID: r.loc, Name: "Erwachsene", DurationMinutes: 60, FeeCents: ticketFee,
		Payment: booking.PayOnline, MaxUnits: 2}
	services := []booking.Service{svc}
	for _, fee := range o.fees {
		extra := svc
		extra.ID, extra.FeeCents = r.feeService(fee), fee
		services = append(services, extra)
	}
	bstore := bookingpg.New(db)
	if err := bstore.SaveCatalog(ctx, []booking.Location{loc}, services); err != nil {
		t.Fatal(err)
	}
	var accounting []payment.Accounting
	for _, s := range services {
		accounting = append(accounting, payment.Accounting{Service: s.ID, Haushaltsstelle: "5730.1100",
			Produkt: "42410", Sachkonto: "4321000", Kostenstelle: "BAD01", BookingText: "Eintritt Freibad"})
	}
	if err := r.store.SaveAccounting(ctx, accounting); err != nil {
		t.Fatal(err)
	}
	var err error
	if r.engine, err = booking.NewEngine(ctx, bstore, bookingredis.New(rdb), log); err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tomorrow := time.Now().In(berlin).AddDate(0, 0, 1)
	r.start = time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 10, 0, 0, 0, berlin)

	r.sim = paysim.New(paysim.Config{Username: "city", Password: "secret", Mandant: "07111000", OriginatorID: "termin",
		EndPointID: "07111000", Logger: log})
	srv := httptest.NewServer(r.sim)
	t.Cleanup(func() { srv.Close(); r.sim.Close() })
	r.simURL = srv.URL
	var platform payment.Platform
	if o.platform == "xbezahldienste" {
		platform, err = xbezahldienste.New(xbezahldienste.Config{BaseURL: srv.URL + paysim.XBezahldienstePrefix, OriginatorID: "termin",
			EndPointID: "07111000", Username: "city", Password: "secret", Logger: log})
	} else {
		o.platform = "epay21"
		platform, err = epay21.New(epay21.Config{Endpoint: srv.URL + paysim.Epay21Path, Username: "city", Password: "secret",
			Mandant: "07111000", App: "termin", DefaultTimeoutMinutes: 30, Logger: log})
	}
	if err != nil {
		t.Fatal(err)
	}
	if o.wrap != nil {
		platform = o.wrap(platform)
	}
	if o.timeout == 0 {
		o.timeout = 30 * time.Minute
	}
	r.flow = &payment.Flow{Engine: r.engine, Store: r.store, Platform: platform, PlatformName: o.platform,
		Scheme: payment.KassenzeichenScheme{Prefix: "TB"}, PublicURL: "http://termin.example", Timeout: o.timeout,
		LateGrace: time.Hour, FreeCancelBefore: time.Hour, PollInterval: 20 * time.Millisecond, MaxPollInterval: 100 * time.Millisecond,
		Log: log, Zone: berlin}
	r.worker = &payment.Worker{Flow: r.flow, ExportDir: r.exportDir, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond}
	return r
}

// book holds units of the slot and books them through the flow.
func (r *flowRig) book(units int) (*booking.Confirmation, *payment.Payment) {
	r.t.Helper()
	return r.bookService(r.svc, units)
}

// bookService books units of a ticket type.
func (r *flowRig) bookService(service string, units int) (*booking.Confirmation, *payment.Payment) {
	r.t.Helper()
	ctx := context.Background()
	h, err := r.engine.PlaceHold(ctx, r.loc, service, r.start, units)
	if err != nil {
		r.t.Fatal(err)
	}
	svc, err := r.engine.HoldService(ctx, h.ID)
	if err != nil || svc == nil {
		r.t.Fatalf("hold service: %v %v", svc, err)
	}
	conf, p, err := r.flow.Book(ctx, h.ID, booking.Contact{Name: "Erika Mustermann", Email: "erika@example.org"}, svc)
	if err != nil {
		r.t.Fatal(err)
	}
	return conf, p
}

// pay completes a payment in the simulator, as the citizen on its page.
func (r *flowRig) pay(p *payment.Payment) {
	r.t.Helper()
	res, err := http.Post(r.simURL+"/sim/payments/"+p.PlatformID+"/complete", "application/json",
		strings.NewReader(`{"outcome":"paid","method":"paypal","visitReturn":false}`))
	if err != nil {
		r.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		r.t.Fatalf("complete %s: %d", p.PlatformID, res.StatusCode)
	}
}

func (r *flowRig) payment(ref string) *payment.Payment {
	r.t.Helper()
	p, err := r.store.PaymentByReference(context.Background(), ref)
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *flowRig) booking(id int64) *booking.Booking {
	r.t.Helper()
	b, err := r.engine.BookingByID(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func (r *flowRig) free() int {
	r.t.Helper()
	d := booking.DateOf(r.start)
	slots, err := r.engine.Availability(context.Background(), r.loc, r.svc, d, d)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, s := range slots {
		if s.Start.Equal(r.start) {
			return s.Free
		}
	}
	r.t.Fatalf("slot %s not offered", r.start)
	return 0
}

func (r *flowRig) count(query string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.db.Get(&n, query, args...); err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *flowRig) work() {
	r.t.Helper()
	if err := r.worker.RunOnce(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

func (r *flowRig) exported() []payment.Posting {
	r.t.Helper()
	var all []payment.Posting
	files, _ := filepath.Glob(filepath.Join(r.exportDir, "termin-buchungen-*.csv"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			r.t.Fatal(err)
		}
		ps, err := payment.ParseExport(bytes.NewReader(data))
		if err != nil {
			r.t.Fatalf("%s: %v", name, err)
		}
		all = append(all, ps...)
	}
	return all
}

// A paid booking is confirmed with its posting and outbox rows; the worker
// confirms at the platform and exports the posting once.
func TestPaidBookingIsConfirmedWithItsPosting(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	conf, p := r.book(2)
	if conf.Booking.Status != booking.StatusPendingPayment || p.State != payment.StateInitiated || p.AmountCents != 2*ticketFee ||
		!strings.HasPrefix(p.Kassenzeichen, "TB") || p.PayURL == "" {
		t.Fatalf("pending: %+v %+v", conf.Booking, p)
	}
	if got := r.free(); got != capacity-2 {
		t.Fatalf("%d free while pending, want %d", got, capacity-2)
	}
	// Asked before the money moved, nothing changes.
	if got, err := r.flow.Check(context.Background(), p.Reference); err != nil || got.State != payment.StateInitiated {
		t.Fatalf("check before paying: %+v %v", got, err)
	}
	r.pay(p)
	got, err := r.flow.Check(context.Background(), p.Reference)
	if err != nil || got.State != payment.StatePaid || got.Method == "" || got.PaidAt == nil {
		t.Fatalf("check after paying: %+v %v", got, err)
	}
	if b := r.booking(p.BookingID); b.Status != booking.StatusConfirmed {
		t.Fatalf("booking %s after payment", b.Status)
	}
	if n := r.count(`SELECT count(*) FROM postings WHERE payment_id = $1 AND kind = 'payment' AND amount_cents = $2`, p.ID, 2*ticketFee); n != 1 {
		t.Fatalf("%d postings", n)
	}
	// A second check (a pushed notification, another replica) posts nothing twice.
	if _, err := r.flow.Check(context.Background(), p.Reference); err != nil {
		t.Fatal(err)
	}
	if n := r.count(`SELECT count(*) FROM payment_outbox WHERE payment_id = $1`, p.ID); n != 2 {
		t.Fatalf("%d outbox jobs, want platform_confirm and posting_file", n)
	}
	r.work()
	if got := r.payment(p.Reference); got.State != payment.StateConfirmed {
		t.Fatalf("after the worker: %s", got.State)
	}
	if sp, _ := r.sim.Payment(p.PlatformID); sp.State != paysim.StateConfirmed {
		t.Fatalf("simulator: %s", sp.State)
	}
	r.work() // nothing left to deliver
	ex := r.exported()
	if len(ex) != 1 || ex[0].PostingID != "B-"+p.Kassenzeichen || ex[0].AmountCents != 2*ticketFee || ex[0].Sachkonto != "4321000" ||
		ex[0].BookingCode != conf.Booking.Code {
		t.Fatalf("exported: %+v", ex)
	}
	if got := r.free(); got != capacity-2 {
		t.Fatalf("%d free after payment, want %d", got, capacity-2)
	}
}

// failingCreate is a platform that is down when a payment is created.
type failingCreate struct{ payment.Platform }

func (failingCreate) Create(context.Context, payment.CreateRequest) (payment.Created, error) {
	return payment.Created{}, fmt.Errorf("%w: connection refused", payment.ErrUnavailable)
}

func TestPlatformDownAtCreateFreesUnits(t *testing.T) {
	r := newFlowRig(t, rigOptions{wrap: func(p payment.Platform) payment.Platform { return failingCreate{p} }})
	ctx := context.Background()
	h, err := r.engine.PlaceHold(ctx, r.loc, r.svc, r.start, 1)
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := r.engine.Service(r.loc, r.svc)
	_, _, err = r.flow.Book(ctx, h.ID, booking.Contact{Name: "Erika", Email: "erika@example.org"}, svc)
	if !errors.Is(err, payment.ErrStartFailed) || !errors.Is(err, payment.ErrUnavailable) {
		t.Fatalf("book: %v, want ErrStartFailed and ErrUnavailable", err)
	}
	if got := r.free(); got != capacity {
		t.Fatalf("%d free after a failed create, want %d", got, capacity)
	}
	if n := r.count(`SELECT count(*) FROM payments WHERE state = 'failed'`); n != 1 {
		t.Fatalf("%d failed payments", n)
	}
}

// The sweeper expires an unpaid booking after the timeout; money that
// arrives later books the slot again for the same manage token.
func TestSweeperExpiresAndLatePaymentBooksAgain(t *testing.T) {
	r := newFlowRig(t, rigOptions{platform: "xbezahldienste", timeout: 200 * time.Millisecond})
	ctx := context.Background()
	conf, p := r.book(1)
	time.Sleep(300 * time.Millisecond)
	if n, err := r.flow.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if got := r.payment(p.Reference); got.State != payment.StateExpired {
		t.Fatalf("after the deadline: %s", got.State)
	}
	if b := r.booking(p.BookingID); b.Status != booking.StatusCancelled {
		t.Fatalf("booking %s after expiry", b.Status)
	}
	if got := r.free(); got != capacity {
		t.Fatalf("%d free after expiry, want %d", got, capacity)
	}
	// The platform's page was still open; the citizen pays late.
	r.pay(p)
	deadline := time.Now().Add(5 * time.Second)
	for r.payment(p.Reference).State != payment.StatePaid {
		if time.Now().After(deadline) {
			t.Fatal("late payment not found")
		}
		time.Sleep(120 * time.Millisecond) // past the poll gap
		if _, err := r.flow.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := r.payment(p.Reference)
	if got.BookingCode == conf.Booking.Code || !strings.Contains(got.Note, "booked again") || r.free() != capacity-1 {
		t.Fatalf("late payment: %+v, %d free", got, r.free())
	}
	b, err := r.engine.Lookup(ctx, got.BookingCode, conf.ManageToken)
	if err != nil || b.Status != booking.StatusConfirmed {
		t.Fatalf("the citizen's token on the new booking: %+v %v", b, err)
	}
}

// Cancelling a paid booking in time puts its refund on finance's work
// list through the outbox; the Storno posting is written once finance has
// paid back and marks it done.
func TestCancelPaidBookingRefundsWithStorno(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	conf, p := r.book(1)
	r.pay(p)
	if _, err := r.flow.Check(ctx, p.Reference); err != nil {
		t.Fatal(err)
	}
	r.work()
	if _, _, err := r.flow.Cancel(ctx, conf.Booking.Code, "wrong token"); !errors.Is(err, booking.ErrBookingNotFound) {
		t.Fatalf("cancel with a wrong token: %v", err)
	}
	b, money, err := r.flow.Cancel(ctx, conf.Booking.Code, conf.ManageToken)
	if err != nil || b.Status != booking.StatusCancelled || money.Money != payment.MoneyRefund || money.AmountCents != ticketFee {
		t.Fatalf("cancel: %+v %+v %v", b, money, err)
	}
	if got := r.free(); got != capacity {
		t.Fatalf("%d free after cancelling, want %d", got, capacity)
	}
	if n := r.count(`SELECT count(*) FROM payment_outbox WHERE payment_id = $1 AND kind = 'refund' AND amount_cents = $2`, p.ID, ticketFee); n != 1 {
		t.Fatalf("%d refund jobs", n)
	}
	r.work()
	// epay21 has no refund call: the refund is on the work list, and no
	// Storno is written before finance has made it.
	tasks, err := r.flow.RefundTasks(ctx, payment.RefundTaskFilter{State: "open"})
	if err != nil || len(tasks) != 1 || tasks[0].AmountCents != ticketFee || tasks[0].Kassenzeichen != p.Kassenzeichen ||
		tasks[0].PlatformID != p.PlatformID || tasks[0].Platform != "epay21" || tasks[0].Reason == "" {
		t.Fatalf("work list: %+v %v", tasks, err)
	}
	r.work() // a second run does not put it there twice
	if n := r.count(`SELECT count(*) FROM refund_tasks`); n != 1 {
		t.Fatalf("%d refund tasks", n)
	}
	if got := r.payment(p.Reference); got.State == payment.StateRefunded || r.count(`SELECT count(*) FROM postings WHERE kind = 'storno'`) != 0 {
		t.Fatalf("refunded before finance did it: %+v", got)
	}
	if _, err := r.flow.CompleteRefund(ctx, tasks[0].ID, " ", ""); !errors.Is(err, payment.ErrRefundTaskInvalid) {
		t.Fatalf("done by nobody: %v", err)
	}
	done, err := r.flow.CompleteRefund(ctx, tasks[0].ID, "Erika Kasse", "Backoffice 4711")
	if err != nil || done.Open() || done.DoneBy != "Erika Kasse" || done.Note != "Backoffice 4711" || done.StornoPostingID != "S-"+p.Kassenzeichen {
		t.Fatalf("complete: %+v %v", done, err)
	}
	if _, err := r.flow.CompleteRefund(ctx, tasks[0].ID, "Erika Kasse", ""); !errors.Is(err, payment.ErrRefundTaskDone) {
		t.Fatalf("completed twice: %v", err)
	}
	if _, err := r.flow.CompleteRefund(ctx, 999999, "Erika Kasse", ""); !errors.Is(err, payment.ErrRefundTaskNotFound) {
		t.Fatalf("unknown task: %v", err)
	}
	got := r.payment(p.Reference)
	if got.State != payment.StateRefunded || got.RefundedCents != ticketFee {
		t.Fatalf("after refund: %+v", got)
	}
	r.work()
	var storno *payment.Posting
	for _, e := range r.exported() {
		if e.Kind == "storno" {
			storno = &e
		}
	}
	if storno == nil || storno.AmountCents != -ticketFee || storno.Reverses != "B-"+p.Kassenzeichen {
		t.Fatalf("storno: %+v", storno)
	}
}

// TestCancelPaidBookingInsideTheNoRefundWindow: the cancellation says the
// money is not refunded, and no refund is queued.
func TestCancelPaidBookingInsideTheNoRefundWindow(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	conf, p := r.book(1)
	r.pay(p)
	if _, err := r.flow.Check(ctx, p.Reference); err != nil {
		t.Fatal(err)
	}
	r.flow.FreeCancelBefore = 72 * time.Hour // the slot is tomorrow
	_, money, err := r.flow.Cancel(ctx, conf.Booking.Code, conf.ManageToken)
	if err != nil || money.Money != payment.MoneyNoRefund || money.AmountCents != ticketFee || money.FreeCancelBefore != 72*time.Hour {
		t.Fatalf("cancel: %+v %v", money, err)
	}
	if n := r.count(`SELECT count(*) FROM payment_outbox WHERE payment_id = $1 AND kind = 'refund'`, p.ID); n != 0 {
		t.Fatalf("%d refund jobs", n)
	}
}

// Cancelling before paying cancels the payment and tells the platform.
func TestCancelOpenPaymentCancelsAtPlatform(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	conf, p := r.book(1)
	if _, money, err := r.flow.Cancel(ctx, conf.Booking.Code, conf.ManageToken); err != nil || money.Money != payment.MoneyPaymentCancelled {
		t.Fatalf("cancel: %+v %v", money, err)
	}
	if got := r.payment(p.Reference); got.State != payment.StateCancelled {
		t.Fatalf("payment %s after cancel", got.State)
	}
	r.work()
	if sp, _ := r.sim.Payment(p.PlatformID); sp.State != paysim.StateCancelled {
		t.Fatalf("simulator: %s", sp.State)
	}
	if n := r.count(`SELECT count(*) FROM payment_outbox WHERE payment_id = $1 AND state = 'done'`, p.ID); n != 1 {
		t.Fatalf("%d delivered jobs", n)
	}
}

// The treasury endpoint is down for two deliveries: the posting arrives
// once it is back, with the same idempotency key each time; a receiver
// that keeps refusing ends in the dead letters.
func TestTreasuryDeliveryRetriesThenDeadLetters(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	var mu sync.Mutex
	var calls int
	var keys []string
	treasury := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		keys = append(keys, req.Header.Get("Idempotency-Key"))
		if calls < 3 || strings.HasPrefix(req.URL.Path, "/never") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer treasury.Close()
	r.flow.HTTPPostings = true
	r.worker.TreasuryURL = treasury.URL
	r.worker.MaxAttempts = 5
	ctx := context.Background()
	_, p := r.book(1)
	r.pay(p)
	if _, err := r.flow.Check(ctx, p.Reference); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.count(`SELECT count(*) FROM payment_outbox WHERE kind = 'posting_http' AND state = 'done'`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("posting not delivered")
		}
		r.work()
		time.Sleep(60 * time.Millisecond)
	}
	mu.Lock()
	if calls != 3 || keys[0] != "B-"+p.Kassenzeichen || keys[2] != keys[0] {
		t.Fatalf("%d calls, keys %v", calls, keys)
	}
	mu.Unlock()
	r.worker.TreasuryURL = treasury.URL + "/never"
	_, p2 := r.book(1)
	r.pay(p2)
	if _, err := r.flow.Check(ctx, p2.Reference); err != nil {
		t.Fatal(err)
	}
	for len(mustList(t, r.store, "dead")) == 0 {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("no dead letter")
		}
		r.work()
		time.Sleep(60 * time.Millisecond)
	}
	dead := mustList(t, r.store, "dead")
	if len(dead) != 1 || dead[0].Kind != payment.JobPostingHTTP || dead[0].Reference != p2.Reference || dead[0].Attempts != 5 {
		t.Fatalf("dead letters: %+v", dead)
	}
}

func mustList(t *testing.T, s *paymentpg.Store, state string) []payment.OutboxItem {
	t.Helper()
	l, err := s.ListOutbox(context.Background(), state, 0)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A PostgreSQL outage is reported as ErrStoreUnavailable, which callers
// answer with 503.
func TestStoreOutageIsUnavailable(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	_, p := r.book(1)
	r.db.Close()
	ctx := context.Background()
	if _, err := r.flow.Check(ctx, p.Reference); !errors.Is(err, payment.ErrStoreUnavailable) {
		t.Fatalf("check with the database down: %v", err)
	}
	if _, err := r.flow.Sweep(ctx); !errors.Is(err, payment.ErrStoreUnavailable) {
		t.Fatalf("sweep with the database down: %v", err)
	}
	if err := r.worker.RunOnce(ctx); !errors.Is(err, payment.ErrStoreUnavailable) {
		t.Fatalf("worker with the database down: %v", err)
	}
	if err := r.store.InTx(ctx, func(payment.Tx) error { return nil }); !errors.Is(err, payment.ErrStoreUnavailable) {
		t.Fatalf("begin with the database down: %v", err)
	}
}

// Failed status queries are retried with growing gaps and counted; once
// the deadline has passed without an answer the units are released, and
// polling goes on so a payment made meanwhile is still found.
func TestSweeperRetriesFailedStatusQueries(t *testing.T) {
	// A deadline far enough off that a loaded machine still sweeps once
	// before it.
	r := newFlowRig(t, rigOptions{platform: "xbezahldienste", timeout: 1500 * time.Millisecond})
	ctx := context.Background()
	_, p := r.book(1)
	r.sim.SetFaults(paysim.Faults{StatusFailNext: 1000})
	time.Sleep(30 * time.Millisecond)
	if n, err := r.flow.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	got := r.payment(p.Reference)
	if got.PollFailures != 1 || got.State != payment.StateInitiated || !got.NextPollAt.After(time.Now()) {
		t.Fatalf("after a failed query: %+v", got)
	}
	if n, _ := r.flow.Sweep(ctx); n != 0 {
		t.Fatalf("polled again before the next poll was due")
	}
	time.Sleep(time.Until(got.Deadline) + 50*time.Millisecond) // past the deadline and the backoff
	if _, err := r.flow.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	got = r.payment(p.Reference)
	if got.State != payment.StateExpired || got.PollFailures != 2 || !strings.Contains(got.Note, "status unavailable") {
		t.Fatalf("after the deadline without answers: %+v", got)
	}
	if free := r.free(); free != capacity {
		t.Fatalf("%d free after expiry, want %d", free, capacity)
	}
	// The platform answers again: the money paid meanwhile is found.
	r.pay(p)
	r.sim.SetFaults(paysim.Faults{})
	deadline := time.Now().Add(5 * time.Second)
	for r.payment(p.Reference).State != payment.StatePaid {
		if time.Now().After(deadline) {
			t.Fatalf("payment not found after the outage: %+v", r.payment(p.Reference))
		}
		time.Sleep(60 * time.Millisecond)
		if _, err := r.flow.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.payment(p.Reference); got.PollFailures != 0 {
		t.Fatalf("failures not reset: %+v", got)
	}
}

// reusedIDs is a platform that hands out the id of its first payment
// again (a restarted platform that numbers from the start) or, when
// missing is set, no id at all.
type reusedIDs struct {
	payment.Platform
	missing bool
	mu      sync.Mutex
	first   string
}

func (p *reusedIDs) Create(ctx context.Context, req payment.CreateRequest) (payment.Created, error) {
	c, err := p.Platform.Create(ctx, req)
	if err != nil {
		return c, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.missing:
		c.PlatformID = ""
	case p.first == "":
		p.first = c.PlatformID
	default:
		c.PlatformID = p.first
	}
	return c, nil
}

// TestDuplicateOrMissingPlatformIDIsAPlatformError: a payment whose
// platform id another payment has, or which has none, is not started (the
// pending booking is cancelled, its units are free) and never posted
// without its own id.
func TestDuplicateOrMissingPlatformIDIsAPlatformError(t *testing.T) {
	for _, missing := range []bool{false, true} {
		t.Run(fmt.Sprintf("missing=%v", missing), func(t *testing.T) {
			plat := &reusedIDs{missing: missing}
			r := newFlowRig(t, rigOptions{wrap: func(p payment.Platform) payment.Platform { plat.Platform = p; return plat }})
			ctx := context.Background()
			if !missing {
				r.book(1)
			}
			h, err := r.engine.PlaceHold(ctx, r.loc, r.svc, r.start, 1)
			if err != nil {
				t.Fatal(err)
			}
			svc, _ := r.engine.Service(r.loc, r.svc)
			_, _, err = r.flow.Book(ctx, h.ID, booking.Contact{Name: "Erika", Email: "erika@example.org"}, svc)
			if !errors.Is(err, payment.ErrStartFailed) || !errors.Is(err, payment.ErrPlatformID) || errors.Is(err, payment.ErrStoreUnavailable) {
				t.Fatalf("book: %v, want ErrStartFailed and ErrPlatformID", err)
			}
			want := capacity
			if !missing {
				want--
			}
			if got := r.free(); got != want {
				t.Fatalf("%d free, want %d", got, want)
			}
			if n := r.count(`SELECT count(*) FROM payments WHERE state = 'failed' AND platform_id IS NULL`); n != 1 {
				t.Fatalf("%d failed payments without id", n)
			}
			if n := r.count(`SELECT count(*) FROM postings WHERE platform_id = ''`); n != 0 {
				t.Fatalf("%d postings without platform id", n)
			}
		})
	}
}

// TestPlatformIDLearntFromStatus: a payment whose id could not be stored
// at create time takes it from the status answer before it is posted;
// a status naming another payment's id posts nothing.
func TestPlatformIDLearntFromStatus(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	forget := func(p *payment.Payment) {
		t.Helper()
		if _, err := r.db.Exec(`UPDATE payments SET platform_id = NULL, state = 'created' WHERE id = $1`, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	_, p := r.book(1)
	forget(p)
	r.pay(p)
	got, err := r.flow.Check(ctx, p.Reference)
	if err != nil || got.State != payment.StatePaid || got.PlatformID != p.PlatformID {
		t.Fatalf("check: %+v %v", got, err)
	}
	if n := r.count(`SELECT count(*) FROM postings WHERE payment_id = $1 AND platform_id = $2`, p.ID, p.PlatformID); n != 1 {
		t.Fatalf("%d postings with the platform id", n)
	}

	// Another payment whose platform id is, wrongly, the first one's.
	_, q := r.book(1)
	forget(q)
	if _, err := r.db.Exec(`UPDATE payments SET platform_id = $2 WHERE id = $1`, p.ID, q.PlatformID); err != nil {
		t.Fatal(err)
	}
	r.pay(q)
	if _, err := r.flow.Check(ctx, q.Reference); !errors.Is(err, payment.ErrPlatformID) {
		t.Fatalf("check with a duplicate id: %v", err)
	}
	if n := r.count(`SELECT count(*) FROM postings WHERE payment_id = $1`, q.ID); n != 0 {
		t.Fatalf("%d postings of the payment with a duplicate id", n)
	}
	if b := r.booking(q.BookingID); b.Status != booking.StatusPendingPayment {
		t.Fatalf("booking %s", b.Status)
	}
}

// TestConcurrentCancelsRefundOnce: cancellations of one paid booking at
// once refund it once; the later ones answer ErrAlreadyCancelled.
func TestConcurrentCancelsRefundOnce(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	conf, p := r.book(1)
	r.pay(p)
	if _, err := r.flow.Check(ctx, p.Reference); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = r.flow.Cancel(ctx, conf.Booking.Code, conf.ManageToken)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, booking.ErrAlreadyCancelled) {
			t.Fatalf("cancel: %v", err)
		}
	}
	if n := r.count(`SELECT count(*) FROM payment_outbox WHERE payment_id = $1 AND kind = 'refund'`, p.ID); n != 1 {
		t.Fatalf("%d refund jobs, want 1", n)
	}
}
