package booking_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	bookingredis "github.com/digitale-verwaltung/termin/booking/redis"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// rig is an engine on a fresh database and Redis keyspace with one location
// open around the clock, and a clock the test controls: the engine's own
// logic against the real stores, booking/postgres and booking/redis.
type rig struct {
	t      *testing.T
	db     *sqlx.DB
	pg     *bookingpg.Store
	holds  *bookingredis.Holds
	rdb    redis.UniversalClient
	engine *booking.Engine
	loc    *booking.Location
	now    atomic.Pointer[time.Time]
	tz     *time.Location
}

// onEachBackend runs f once on each Redis deployment.
var onEachBackend = servicetest.OnEachBackend

// everyDay opens every weekday between two wall-clock times.
func everyDay(opens, closes string) []booking.OpeningRule {
	o, _ := booking.ParseClockTime(opens)
	c, _ := booking.ParseClockTime(closes)
	var rules []booking.OpeningRule
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		rules = append(rules, booking.OpeningRule{Weekday: wd, Opens: o, Closes: c})
	}
	return rules
}

func newRig(t *testing.T, b servicetest.Backend, capacity, slotMinutes int, services ...booking.Service) *rig {
	t.Helper()
	return newRigWith(t, b, nil, capacity, slotMinutes, services...)
}

// newRigWith is newRig with the location changed by shape before it is
// saved.
func newRigWith(t *testing.T, b servicetest.Backend, shape func(*booking.Location), capacity, slotMinutes int, services ...booking.Service) *rig {
	t.Helper()
	db := servicetest.DB(t, bookingpg.Migrations)
	r := &rig{t: t, db: db, pg: bookingpg.New(db), rdb: servicetest.UniversalRedis(t, b)}
	r.holds = bookingredis.New(r.rdb)
	r.tz, _ = time.LoadLocation("Europe/Berlin")
	start := time.Date(2030, time.January, 7, 6, 0, 0, 0, r.tz) // a Monday
	r.now.Store(&start)
	loc := booking.Location{ID: servicetest.RandomID("loc-"), Kind: booking.KindPool, Name: "Testbad", Timezone: "Europe/Berlin",
		Capacity: capacity, SlotMinutes: slotMinutes, BookingHorizonDays: 30, Opening: everyDay("07:00", "21:00")}
	if shape != nil {
		shape(&loc)
	}
	for i := range services {
		services[i].LocationID = loc.ID
		services[i].ID = loc.ID + "-" + services[i].ID
		if services[i].Payment == "" {
			services[i].Payment = booking.PayOnline
		}
	}
	if err := loc.Validate(services); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.pg.SaveCatalog(ctx, []booking.Location{loc}, services); err != nil {
		t.Fatal(err)
	}
	r.engine = r.newEngine()
	r.loc, _, _ = r.engine.Location(loc.ID)
	return r
}

// newEngine starts another engine on the same stores, as a restarted or a
// second server would.
func (r *rig) newEngine() *booking.Engine {
	e, err := booking.NewEngine(context.Background(), r.pg, r.holds, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		r.t.Fatal(err)
	}
	e.Now = func() time.Time { return *r.now.Load() }
	return e
}

func (r *rig) advance(d time.Duration) {
	t := r.now.Load().Add(d)
	r.now.Store(&t)
}

// at is a start time on the rig's first day.
func (r *rig) at(hour, minute int) time.Time {
	return time.Date(2030, time.January, 7, hour, minute, 0, 0, r.tz)
}

func (r *rig) svc(id string) string { return r.loc.ID + "-" + id }

var someone = booking.Contact{Name: "Erika Mustermann", Email: "erika@example.org"}

func (r *rig) liveUnits(from, to time.Time) int {
	n, err := r.pg.CountLiveUnits(context.Background(), r.loc.ID, from, to)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

func TestRaceForOneSlot(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		tests := []struct {
			name         string
			capacity     int
			units        int
			wantBookings int
		}{
			{"one unit each, capacity 4", 4, 1, 4},
			{"three units each, capacity 10", 10, 3, 3},
			{"two units each, capacity 4", 4, 2, 2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newRig(t, b, tt.capacity, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: tt.units})
				start := r.at(10, 0)
				const racers = 300
				var booked, full, other atomic.Int64
				var wg sync.WaitGroup
				gate := make(chan struct{})
				for i := 0; i < racers; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-gate
						ctx := context.Background()
						h, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, tt.units)
						if errors.Is(err, booking.ErrSlotFull) {
							full.Add(1)
							return
						}
						if err != nil {
							t.Errorf("hold: %v", err)
							other.Add(1)
							return
						}
						if _, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{}); err != nil {
							t.Errorf("book: %v", err)
							other.Add(1)
							return
						}
						booked.Add(1)
					}()
				}
				close(gate)
				wg.Wait()
				if booked.Load() != int64(tt.wantBookings) || full.Load() != int64(racers-tt.wantBookings) || other.Load() != 0 {
					t.Fatalf("booked %d, slot_full %d, other %d; want %d, %d, 0",
						booked.Load(), full.Load(), other.Load(), tt.wantBookings, racers-tt.wantBookings)
				}
				var rows []struct {
					Unit  int `db:"unit"`
					Count int `db:"n"`
				}
				if err := r.db.Select(&rows, `SELECT unit, count(*) AS n FROM booking_units WHERE location_id = $1 GROUP BY unit`, r.loc.ID); err != nil {
					t.Fatal(err)
				}
				if len(rows) != tt.wantBookings*tt.units {
					t.Errorf("database has %d distinct units, want %d", len(rows), tt.wantBookings*tt.units)
				}
				for _, row := range rows {
					if row.Count != 1 || row.Unit >= tt.capacity {
						t.Errorf("unit %d booked %d times", row.Unit, row.Count)
					}
				}
				var bookings int
				r.db.Get(&bookings, `SELECT count(*) FROM bookings WHERE location_id = $1 AND status = 'confirmed'`, r.loc.ID)
				if bookings != tt.wantBookings {
					t.Errorf("database has %d bookings, want %d", bookings, tt.wantBookings)
				}
			})
		}
	})
}

// fill books n units of the slot at start, one booking per unit.
func (r *rig) fill(start time.Time, service string, n int) []*booking.Confirmation {
	r.t.Helper()
	var out []*booking.Confirmation
	for i := 0; i < n; i++ {
		h, err := r.engine.PlaceHold(context.Background(), r.loc.ID, r.svc(service), start, 1)
		if err != nil {
			r.t.Fatalf("hold %d: %v", i, err)
		}
		c, err := r.engine.Book(context.Background(), h.ID, someone, booking.BookOptions{})
		if err != nil {
			r.t.Fatalf("book %d: %v", i, err)
		}
		out = append(out, c)
	}
	return out
}

func (r *rig) free(start time.Time, service string) int {
	r.t.Helper()
	d := booking.DateOf(start.In(r.tz))
	slots, err := r.engine.Availability(context.Background(), r.loc.ID, r.svc(service), d, d)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, s := range slots {
		if s.Start.Equal(start) {
			return s.Free
		}
	}
	r.t.Fatalf("no slot at %s", start)
	return 0
}

func TestBookingsSurviveRedisLoss(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 5, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 5})
		start := r.at(10, 0)
		r.fill(start, "ticket", 3)
		ctx := context.Background()
		if err := servicetest.Flush(ctx, r.rdb); err != nil {
			t.Fatal(err)
		}
		// A restarted server warms Redis from PostgreSQL.
		restarted := r.newEngine()
		if err := restarted.Warm(ctx, 2); err != nil {
			t.Fatal(err)
		}
		r.engine = restarted
		if got := r.free(start, "ticket"); got != 2 {
			t.Fatalf("after FLUSHDB and restart %d free, want 2", got)
		}
		if _, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 3); !errors.Is(err, booking.ErrSlotFull) {
			t.Fatalf("holding 3 of 2 free units: %v, want ErrSlotFull", err)
		}
		// Without a restart: Redis is flushed under a running server, which
		// loads the day again on first use.
		servicetest.Flush(ctx, r.rdb)
		if _, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 3); !errors.Is(err, booking.ErrSlotFull) {
			t.Fatalf("after FLUSHDB: %v, want ErrSlotFull", err)
		}
		r.fill(start, "ticket", 2)
		if got := r.liveUnits(start, start.Add(time.Minute)); got != 5 {
			t.Fatalf("%d live units, want 5", got)
		}
	})
}

func TestRedisWrongPostgresRefuses(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 2, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 2})
		start := r.at(10, 0)
		r.fill(start, "ticket", 2)
		ctx := context.Background()
		// Corrupt Redis: clear the bitmap but keep the day marked loaded.
		d := booking.DateOf(start.In(r.tz))
		r.rdb.Del(ctx, bookingredis.DayKeys(r.loc.ID, d)[0])
		h, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1)
		if err != nil {
			t.Fatalf("hold on corrupted redis: %v", err)
		}
		if _, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{}); !errors.Is(err, booking.ErrSlotFull) {
			t.Fatalf("book a unit PostgreSQL has: %v, want ErrSlotFull", err)
		}
		// The conflict repaired the day.
		if got := r.free(start, "ticket"); got != 0 {
			t.Fatalf("after repair %d free, want 0", got)
		}
	})
}

func TestHoldExpiryFreesUnits(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 3, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 3})
		ctx := context.Background()
		start := r.at(10, 0)
		h, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.free(start, "ticket"); got != 0 {
			t.Fatalf("%d free while held, want 0", got)
		}
		if _, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1); !errors.Is(err, booking.ErrSlotFull) {
			t.Fatalf("hold on a full slot: %v", err)
		}
		r.advance(r.engine.HoldTTL + time.Second)
		if got := r.free(start, "ticket"); got != 3 {
			t.Fatalf("%d free after expiry, want 3", got)
		}
		if _, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{}); !errors.Is(err, booking.ErrHoldExpired) {
			t.Fatalf("booking an expired hold: %v, want ErrHoldExpired", err)
		}
		if _, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 3); err != nil {
			t.Fatalf("hold after expiry: %v", err)
		}
	})
}

func TestReleaseAndReuseOfHolds(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 1, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 1})
		ctx := context.Background()
		start := r.at(10, 0)
		h, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.engine.ReleaseHold(ctx, h.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{}); !errors.Is(err, booking.ErrHoldExpired) {
			t.Fatalf("booking a released hold: %v", err)
		}
		h2, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1)
		if err != nil {
			t.Fatalf("hold after release: %v", err)
		}
		if _, err := r.engine.Book(ctx, h2.ID, someone, booking.BookOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.engine.Book(ctx, h2.ID, someone, booking.BookOptions{}); !errors.Is(err, booking.ErrHoldUsed) {
			t.Fatalf("booking a hold twice: %v, want ErrHoldUsed", err)
		}
		if err := r.engine.ReleaseHold(ctx, "nonsense"); !errors.Is(err, booking.ErrHoldNotFound) {
			t.Fatalf("release malformed id: %v", err)
		}
	})
}

func TestCancelFreesUnits(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 2, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 2})
		ctx := context.Background()
		start := r.at(10, 0)
		confs := r.fill(start, "ticket", 2)
		if _, err := r.engine.Cancel(ctx, confs[0].Booking.Code, "wrong token", nil); !errors.Is(err, booking.ErrBookingNotFound) {
			t.Fatalf("cancel with a wrong token: %v", err)
		}
		cancelled, err := r.engine.Cancel(ctx, confs[0].Booking.Code, confs[0].ManageToken, nil)
		if err != nil || cancelled.Status != booking.StatusCancelled {
			t.Fatalf("cancel: %v %v", cancelled, err)
		}
		if got := r.free(start, "ticket"); got != 1 {
			t.Fatalf("%d free after cancel, want 1", got)
		}
		if _, err := r.engine.Cancel(ctx, confs[0].Booking.Code, confs[0].ManageToken, nil); err != nil {
			t.Fatalf("second cancel: %v", err)
		}
		r.fill(start, "ticket", 1)
		// Redis lost after a cancel: the reload must not bring the cancelled
		// unit back.
		servicetest.Flush(ctx, r.rdb)
		if got := r.free(start, "ticket"); got != 0 {
			t.Fatalf("%d free after reload, want 0", got)
		}
		got, err := r.engine.Lookup(ctx, confs[0].Booking.Code, confs[0].ManageToken)
		if err != nil || got.Status != booking.StatusCancelled || got.CancelledAt == nil {
			t.Fatalf("lookup cancelled booking: %+v %v", got, err)
		}
		r.advance(5 * time.Hour)
		if _, err := r.engine.Cancel(ctx, confs[1].Booking.Code, confs[1].ManageToken, nil); !errors.Is(err, booking.ErrTooLate) {
			t.Fatalf("cancel after start: %v, want ErrTooLate", err)
		}
	})
}

func TestServicesOfDifferentLengthShareDesks(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 1, 5,
			booking.Service{ID: "long", DurationMinutes: 20, MaxUnits: 1},
			booking.Service{ID: "short", DurationMinutes: 10, MaxUnits: 1})
		ctx := context.Background()
		r.fill(r.at(8, 0), "long", 1) // the one desk is busy 08:00-08:20
		for _, tt := range []struct {
			h, m int
			free int
		}{{8, 0, 0}, {8, 10, 0}, {8, 20, 1}, {7, 50, 1}} {
			if got := r.free(r.at(tt.h, tt.m), "short"); got != tt.free {
				t.Errorf("short service at %02d:%02d: %d free, want %d", tt.h, tt.m, got, tt.free)
			}
		}
		if _, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("short"), r.at(8, 10), 1); !errors.Is(err, booking.ErrSlotFull) {
			t.Fatalf("overlapping hold: %v", err)
		}
	})
}

func TestHoldValidation(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 4, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 2})
		ctx := context.Background()
		tests := []struct {
			name    string
			service string
			start   time.Time
			units   int
			want    error
		}{
			{"past", r.svc("ticket"), r.at(5, 30), 1, booking.ErrSlotPast},
			{"misaligned", r.svc("ticket"), r.at(10, 15), 1, booking.ErrSlotInvalid},
			{"after closing", r.svc("ticket"), r.at(20, 30), 1, booking.ErrSlotInvalid},
			{"beyond horizon", r.svc("ticket"), r.at(10, 0).AddDate(0, 2, 0), 1, booking.ErrSlotInvalid},
			{"zero units", r.svc("ticket"), r.at(10, 0), 0, booking.ErrUnitsInvalid},
			{"too many units", r.svc("ticket"), r.at(10, 0), 3, booking.ErrUnitsInvalid},
			{"unknown service", "nope", r.at(10, 0), 1, booking.ErrServiceUnknown},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := r.engine.PlaceHold(ctx, r.loc.ID, tt.service, tt.start, tt.units); !errors.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
			})
		}
		if _, err := r.engine.PlaceHold(ctx, "nowhere", r.svc("ticket"), r.at(10, 0), 1); !errors.Is(err, booking.ErrLocationUnknown) {
			t.Fatalf("unknown location: %v", err)
		}
		h, _ := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), r.at(10, 0), 1)
		for _, c := range []booking.Contact{{Email: "a@b.de"}, {Name: "A", Email: "not-an-email"}, {Name: "A", Email: "a@b"}, {Name: "A", Email: "Anna <a@b.de>"}} {
			if _, err := r.engine.Book(ctx, h.ID, c, booking.BookOptions{}); !errors.Is(err, booking.ErrNameInvalid) && !errors.Is(err, booking.ErrEmailInvalid) {
				t.Errorf("contact %+v: %v", c, err)
			}
		}
		// Nothing half-written: the hold is still good after the rejects.
		if _, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{}); err != nil {
			t.Fatalf("book after rejected contacts: %v", err)
		}
	})
}

func TestScriptsSurviveScriptFlush(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 10, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 1})
		ctx := context.Background()
		r.rdb.ScriptFlush(ctx)
		r.fill(r.at(10, 0), "ticket", 2)
		if got := r.free(r.at(10, 0), "ticket"); got != 8 {
			t.Fatalf("%d free, want 8", got)
		}
	})
}

func ExampleNormalizeBookingCode() {
	fmt.Println(booking.NormalizeBookingCode("k7q2-mx9o"))
	// Output: K7Q2MX90
}

// A release that arrives while the hold is being booked (a second browser
// tab) must not free units that are about to be booked.
func TestReleaseDuringBookingKeepsUnits(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 1, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 1})
		ctx := context.Background()
		start := r.at(10, 0)
		h, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1)
		if err != nil {
			t.Fatal(err)
		}
		d := booking.DateOf(start.In(r.tz))
		now := r.engine.Now()
		// Book's first step, as if its PostgreSQL write were still running.
		if rec, err := r.holds.Claim(ctx, r.loc.ID, d, h.ID, now, now.Add(r.engine.ConfirmGrace)); err != nil || rec == nil {
			t.Fatalf("claim: %v %v", rec, err)
		}
		if err := r.engine.ReleaseHold(ctx, h.ID); err != nil {
			t.Fatal(err)
		}
		if got := r.free(start, "ticket"); got != 0 {
			t.Fatalf("%d free after releasing a claimed hold, want 0", got)
		}
		if _, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{}); err != nil {
			t.Fatalf("book the claimed hold: %v", err)
		}
	})
}

// SCRIPT FLUSH (a Redis restart or failover to a replica that never saw
// SCRIPT LOAD) under load: EVALSHA answers NOSCRIPT, go-redis falls back
// to EVAL, and no caller sees an error.
func TestScriptFlushUnderLoad(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 1000, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var flushes, ops atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := r.rdb.ScriptFlush(context.Background()).Err(); err != nil {
					t.Errorf("script flush: %v", err)
					return
				}
				flushes.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		}()
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					h, err := r.engine.PlaceHold(context.Background(), r.loc.ID, r.svc("ticket"), r.at(10, 0), 1)
					if err == nil {
						if w%2 == 0 {
							_, err = r.engine.Book(context.Background(), h.ID, someone, booking.BookOptions{})
						} else {
							err = r.engine.ReleaseHold(context.Background(), h.ID)
						}
					}
					if err != nil {
						t.Errorf("under SCRIPT FLUSH: %v", err)
						return
					}
					ops.Add(1)
				}
			}()
		}
		wg.Wait()
		if flushes.Load() < 10 || ops.Load() < 50 {
			t.Fatalf("only %d flushes and %d operations", flushes.Load(), ops.Load())
		}
		t.Logf("%d operations, %d SCRIPT FLUSHes, no errors", ops.Load(), flushes.Load())
	})
}
