package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	auditpg "github.com/digitale-verwaltung/termin/audit/postgres"
	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	bookingredis "github.com/digitale-verwaltung/termin/booking/redis"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	paymentpg "github.com/digitale-verwaltung/termin/payment/postgres"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
	"github.com/digitale-verwaltung/termin/server/citizen"
	"github.com/digitale-verwaltung/termin/server/device"
	"github.com/digitale-verwaltung/termin/server/fairness"
	fairnessredis "github.com/digitale-verwaltung/termin/server/fairness/redis"
	"github.com/digitale-verwaltung/termin/server/finance"
	"github.com/digitale-verwaltung/termin/server/live"
	"github.com/digitale-verwaltung/termin/server/paycallback"
	"github.com/digitale-verwaltung/termin/server/router"
	"github.com/digitale-verwaltung/termin/server/staff"
)

// newApp wires the HTTP handlers to the stores. This file is the only
// place the handlers meet the booking and payment packages' concrete types.
func newApp(d *deps) *fiber.App {
	cfg := d.cfg
	d.pay = newPayments(d)
	queue := booking.NewQueue(d.engine, d.pg)
	queue.CheckInEarly, queue.CheckInLate = cfg.CheckInEarly, cfg.CheckInLate
	d.accounts = newAccounts(cfg, d.db)
	d.audit = auditpg.New(d.db)
	staffAuth := staffAuthenticator(cfg, d.accounts)
	limiter, challenges := newFairness(d)
	now := func() time.Time { return d.engine.Now() }

	released := releasedHolds{Engine: d.engine, keep: max(2*cfg.HoldTTL, time.Hour), log: d.log}
	if d.rdb != nil {
		released.releases = bookingredis.NewReleases(d.rdb)
	}
	room := newRoom(d)
	cit := &citizen.Handler{
		Catalog: d.engine, Reservations: released, Bookings: citizenBookings{d.engine, d.pay.flow, released},
		Limiter: limiter, Challenges: challenges, Room: room, Now: now, SigningKey: d.signingKey,
		ClientIPHeader: cfg.ClientIPHeader, Log: d.log,
	}
	callbacks := &paycallback.Handler{Inbox: d.pay.store, NotifySecret: []byte(cfg.Pay.NotifySecret), ResultPage: "/zahlung/", Log: d.log}
	if released.releases != nil {
		// A hold replaced by its holder's next one was released, not
		// left to expire: booking it says so.
		d.engine.Replaced = func(ctx context.Context, id string) {
			if err := released.releases.Note(ctx, id, released.keep); err != nil {
				d.log.WarnContext(ctx, "note replaced hold", "err", err)
			}
		}
	}
	if d.cfg.OneHold {
		cit.Holders, cit.HoldersByAddress, cit.HolderKey, cit.Now = d.engine, cfg.OneHoldAPI, cfg.SubKey("holder"), now
	}
	if guard := newReleaseGuard(d); guard.Enabled() {
		cit.Releases = guard
	}
	if d.pay.flow != nil {
		cit.Payments = onlinePayments{d.pay.flow, released}
		callbacks.Flow = paymentChecks{d.pay.flow, d.engine}
	}
	pages := newWeb(d, queue, limiter, challenges, released)
	pages.Room = room
	var degraded []router.Check
	if d.pay.health != nil {
		degraded = append(degraded, router.Check{Name: "payment_platform", Check: d.pay.health.Check})
	}
	d.metrics = newMetrics(d, room)
	d.live = startLive(d)
	app := router.New(router.Config{
		Ready:    d.engine.Ready,
		Degraded: degraded,
		Log:      d.log,
		Metrics:  d.metrics.Middleware,
		HSTS:     strings.HasPrefix(cfg.PublicURL(), "https://"),
		Pages:    pages,
		Groups: []router.Group{
			cit,
			&device.Handler{
				Catalog: d.engine, Registry: d.pg, Queue: deviceQueue{queue, d.engine}, Revocations: queue,
				PublicKey: d.signingKey.Public().(ed25519.PublicKey), GateEarly: cfg.GateEarly, GateLate: cfg.GateLate, Now: now,
			},
			&staff.Handler{Catalog: d.engine, Queue: queue, Devices: d.pg, Entrances: queue, Staff: staffAuth, Now: time.Now,
				Accounts: d.accounts, Audit: d.audit, City: catalogAdmin{d}},
			&finance.Handler{Ledger: d.pay.store, Reconciler: reconciler{d.pay.store, reconcile.Options{PayoutAccount: cfg.Pay.PayoutAccount}},
				ExportDir: cfg.Pay.ExportDir, Refunds: d.pay.refunds, Staff: staffAuth},
			callbacks,
		},
	})
	app.Hooks().OnShutdown(func() error {
		d.live.stop()
		return nil
	})
	return app
}

// liveQueue is a replica's fan-out of queue changes: one LISTEN
// connection to PostgreSQL, whose notifications (from whichever replica
// changed a queue) signal this replica's event streams.
type liveQueue struct {
	*live.Hub
	stop func()
}

// startLive listens for queue changes until the application shuts down.
func startLive(d *deps) *liveQueue {
	hub := live.NewHub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := bookingpg.ListenQueue(ctx, d.cfg.DatabaseURL, d.log, hub.Publish); err != nil {
			d.log.Error("queue changes are not heard; live pages fall back to reloading", "err", err)
		}
	}()
	return &liveQueue{Hub: hub, stop: func() {
		hub.Close()
		cancel()
		<-done
	}}
}

// newFairness builds the rate limiter and the proof-of-work challenges from
// the configuration.
func newFairness(d *deps) (*fairness.Limiter, *fairness.Challenges) {
	cfg := d.cfg
	powKey := cfg.SubKey("pow")
	if cfg.Secret == "" {
		// Without a secret a derived key would be public; a random one
		// keeps challenges unforgeable, valid on this process only.
		powKey = make([]byte, 32)
		rand.Read(powKey)
	}
	store := fairnessredis.New(d.rdb)
	pow := fairness.NewChallenges(store, powKey)
	pow.Difficulty = cfg.PowBits
	if cfg.PowTTL > 0 {
		pow.TTL = cfg.PowTTL
	}
	pow.AutoThreshold = cfg.PowAuto
	pow.Locations = map[string]bool{}
	for _, l := range cfg.PowLocations {
		if l == "*" {
			pow.All = true
		}
		pow.Locations[l] = true
	}
	return fairness.NewLimiter(store, cfg.SubKey("client"), cfg.RateLimit, cfg.RateBurst), pow
}

// newReleaseGuard slows down clients that release holds within seconds
// again and again, with a bucket of its own in the fairness store. It is
// a per-client rate limit, so -rate-limit 0 (every per-client limit off)
// switches it off too.
func newReleaseGuard(d *deps) *fairness.ReleaseGuard {
	cfg := d.cfg
	rate := cfg.QuickReleasePerMinute / 60
	if cfg.RateLimit == 0 {
		rate = 0
	}
	lim := fairness.NewLimiter(fairnessredis.New(d.rdb), cfg.SubKey("client"), rate, cfg.QuickReleaseBurst)
	return &fairness.ReleaseGuard{Limiter: lim, Quick: cfg.QuickRelease}
}

// citizenBookings books holds without online payment and cancels
// bookings, refunding or cancelling a payment in the same transaction.
type citizenBookings struct {
	engine   *booking.Engine
	flow     *payment.Flow // nil when online payment is off
	released releasedHolds
}

func (b citizenBookings) Book(ctx context.Context, holdID string, c booking.Contact) (*booking.Confirmation, error) {
	conf, err := b.engine.Book(ctx, holdID, c, booking.BookOptions{})
	return conf, b.released.explain(ctx, holdID, err)
}

func (b citizenBookings) Lookup(ctx context.Context, code, token string) (*booking.Booking, error) {
	return b.engine.Lookup(ctx, code, token)
}

// Cancel cancels a booking once: a second cancellation answers
// booking.ErrAlreadyCancelled rather than repeating a success that did
// nothing (and could not say what happened to the money).
func (b citizenBookings) Cancel(ctx context.Context, code, token string) (*citizen.Cancellation, error) {
	cur, err := b.engine.Lookup(ctx, code, token)
	if err != nil {
		return nil, err
	}
	if cur.Status == booking.StatusCancelled {
		return nil, booking.ErrAlreadyCancelled
	}
	if b.flow == nil {
		cancelled, err := b.engine.Cancel(ctx, code, token, nil)
		if err != nil {
			return nil, err
		}
		return &citizen.Cancellation{Booking: cancelled, Money: payment.CancelOutcome{Money: payment.MoneyNone}}, nil
	}
	cancelled, money, err := b.flow.Cancel(ctx, code, token)
	if err != nil {
		return nil, err
	}
	return &citizen.Cancellation{Booking: cancelled, Money: money}, nil
}

func (b citizenBookings) Activate(ctx context.Context, code, token string) (*booking.Booking, error) {
	return b.engine.Activate(ctx, code, token)
}

// Reschedule moves a booking; a paid booking keeps its payment, which
// belongs to the booking, not to its time.
func (b citizenBookings) Reschedule(ctx context.Context, code, token, holdID string) (*booking.Booking, error) {
	return b.engine.Reschedule(ctx, code, token, holdID)
}

func (b citizenBookings) SendManageLink(ctx context.Context, code, email, lang string) error {
	return b.engine.SendManageLink(ctx, code, email, lang)
}

// onlinePayments books fee-paying services as pending payment.
type onlinePayments struct {
	flow     *payment.Flow
	released releasedHolds
}

func (p onlinePayments) Required(svc *booking.Service) bool {
	return svc != nil && svc.Payment == booking.PayOnline && svc.FeeCents > 0
}

func (p onlinePayments) BookPending(ctx context.Context, holdID string, c booking.Contact, svc *booking.Service) (*booking.Confirmation, *payment.Payment, error) {
	conf, pay, err := p.flow.Book(ctx, holdID, c, svc)
	return conf, pay, p.released.explain(ctx, holdID, err)
}

// paymentChecks queries the platform about a payment for the callbacks.
type paymentChecks struct {
	flow   *payment.Flow
	engine *booking.Engine
}

func (p paymentChecks) Check(ctx context.Context, reference string) (*payment.Payment, error) {
	return p.flow.Check(ctx, reference)
}

func (p paymentChecks) BookingStatus(ctx context.Context, bookingID int64) (string, error) {
	b, err := p.engine.BookingByID(ctx, bookingID)
	if err != nil {
		return "", err
	}
	return b.Status, nil
}

// deviceQueue is the queue with the start of a checked-in appointment.
type deviceQueue struct {
	*booking.Queue
	engine *booking.Engine
}

func (q deviceQueue) AppointmentStart(ctx context.Context, bookingID int64) (time.Time, error) {
	b, err := q.engine.BookingByID(ctx, bookingID)
	if err != nil {
		return time.Time{}, err
	}
	return b.Start, nil
}

// reconciler runs and reads reconciliations on the payment store.
type reconciler struct {
	store *paymentpg.Store
	opt   reconcile.Options
}

func (r reconciler) Reconcile(ctx context.Context, rep settlement.Report, doc camt.Document) (*reconcile.Reconciliation, error) {
	return reconcile.Run(ctx, r.store, rep, doc, r.opt)
}

func (r reconciler) Reconciliation(ctx context.Context, id int64) (*reconcile.Reconciliation, error) {
	return reconcile.ByID(ctx, r.store, id)
}
