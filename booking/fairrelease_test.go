package booking_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
	bookingredis "github.com/digitale-verwaltung/termin/booking/redis"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// free is the number of free units at start, as availability lists them.
func (r *rig) freeOn(e *booking.Engine, service string, start time.Time) int {
	r.t.Helper()
	d := booking.DateOf(start.In(r.tz))
	slots, err := e.Availability(context.Background(), r.loc.ID, service, d, d)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, s := range slots {
		if s.Start.Equal(start) {
			return s.Free
		}
	}
	r.t.Fatalf("%s is not listed", start)
	return 0
}

// A cancelled booking's units stay blocked for the location's block time,
// also after Redis was lost in between (the record keeps blocked_until),
// and come back when it ends.
func TestCancelledUnitsStayBlocked(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		for _, lose := range []bool{false, true} {
			name := "kept"
			if lose {
				name = "redis lost during the block"
			}
			t.Run(name, func(t *testing.T) {
				r := newRigWith(t, b, func(l *booking.Location) { l.CancelBlockMinutes = 30 }, 1, 90,
					booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 1})
				ctx := context.Background()
				start := r.at(10, 0)
				h, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1)
				if err != nil {
					t.Fatal(err)
				}
				conf, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.engine.Cancel(ctx, conf.Booking.Code, conf.ManageToken, nil); err != nil {
					t.Fatal(err)
				}
				if lose {
					if err := servicetest.Flush(ctx, r.rdb); err != nil {
						t.Fatal(err)
					}
				}
				check := func(when string, wantFree int) {
					t.Helper()
					if got := r.freeOn(r.engine, r.svc("ticket"), start); got != wantFree {
						t.Errorf("%s: %d free, want %d", when, got, wantFree)
					}
					_, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1)
					switch {
					case wantFree == 0 && !errors.Is(err, booking.ErrSlotFull):
						t.Errorf("%s: hold answered %v, want ErrSlotFull", when, err)
					case wantFree > 0 && err != nil:
						t.Errorf("%s: hold answered %v", when, err)
					}
				}
				check("right after the cancellation", 0)
				r.advance(29*time.Minute + 59*time.Second)
				if lose {
					// A second loss late in the block: the reload blocks only the rest.
					servicetest.Flush(ctx, r.rdb)
				}
				check("a second before the block ends", 0)
				r.advance(time.Second)
				check("when the block ends", 1)
				// The check's hold took the unit; a repair load of the
				// loaded day must not bring the ended block back (its
				// sweep would free the hold's unit).
				if err := r.engine.LoadDay(ctx, r.loc, r.tz, booking.DateOf(start.In(r.tz))); err != nil {
					t.Fatal(err)
				}
				r.advance(time.Minute)
				if got := r.freeOn(r.engine, r.svc("ticket"), start); got != 0 {
					t.Errorf("after a repair load %d free, want 0: the new hold keeps its unit", got)
				}
				if n := r.liveUnits(start, start.Add(time.Hour)); n != 0 {
					t.Errorf("%d live units in the record, want 0 (the new hold is not booked)", n)
				}
			})
		}
	})
}

// With no block time a cancellation frees the units at once, as before.
func TestCancelWithoutBlockFreesAtOnce(t *testing.T) {
	r := newRig(t, servicetest.SingleRedis, 1, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 1})
	ctx := context.Background()
	start := r.at(10, 0)
	h, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.engine.Cancel(ctx, conf.Booking.Code, conf.ManageToken, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.freeOn(r.engine, r.svc("ticket"), start); got != 1 {
		t.Errorf("%d free after the cancellation, want 1", got)
	}
}

// A holder has one live hold per location: a second replaces the first,
// and of many placed at once exactly one stays.
func TestOneLiveHoldPerHolder(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 50, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 1})
		r.engine.Holders = bookingredis.NewHolders(r.rdb)
		ctx := context.Background()
		items := []booking.Item{{ServiceID: r.svc("ticket"), Count: 1}}
		holder := servicetest.RandomID("browser-")
		first, err := r.engine.PlaceHoldAs(ctx, holder, r.loc.ID, items, r.at(10, 0))
		if err != nil {
			t.Fatal(err)
		}
		second, err := r.engine.PlaceHoldAs(ctx, holder, r.loc.ID, items, r.at(13, 0))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.freeOn(r.engine, r.svc("ticket"), r.at(10, 0)); got != 50 {
			t.Errorf("the replaced hold still takes a unit: %d free", got)
		}
		if got := r.freeOn(r.engine, r.svc("ticket"), r.at(13, 0)); got != 49 {
			t.Errorf("the new hold: %d free, want 49", got)
		}
		if _, err := r.engine.Book(ctx, first.ID, someone, booking.BookOptions{}); !errors.Is(err, booking.ErrHoldExpired) {
			t.Errorf("booking the replaced hold: %v, want it gone", err)
		}
		if id, placed, err := r.engine.HolderHold(ctx, holder, r.loc.ID); err != nil || id != second.ID || !placed.Equal(*r.now.Load()) {
			t.Errorf("HolderHold = %q, %s, %v; want %q placed now", id, placed, err, second.ID)
		}
		// Another holder is not affected.
		if _, err := r.engine.PlaceHoldAs(ctx, "other-"+holder, r.loc.ID, items, r.at(13, 0)); err != nil {
			t.Fatal(err)
		}
		if got := r.freeOn(r.engine, r.svc("ticket"), r.at(13, 0)); got != 48 {
			t.Errorf("two holders: %d free, want 48", got)
		}

		// Many at once from one holder: exactly one survives.
		racer := servicetest.RandomID("racer-")
		var wg sync.WaitGroup
		var placed atomic.Int64
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := r.engine.PlaceHoldAs(ctx, racer, r.loc.ID, items, r.at(16, 0)); err != nil {
					t.Error(err)
					return
				}
				placed.Add(1)
			}()
		}
		wg.Wait()
		if got := r.freeOn(r.engine, r.svc("ticket"), r.at(16, 0)); placed.Load() != 20 || got != 49 {
			t.Errorf("%d holds placed at once by one holder leave %d free, want 49", placed.Load(), got)
		}
	})
}

// countingHook counts the commands a client sends, pipelined ones
// included.
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// Reads under a storm come from the snapshot: many reads within the
// confirmation interval cost no Redis command, a read after it one HGET;
// a change made by another replica is seen within the bound.
func TestAvailabilitySnapshot(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 10, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 1})
		const every = 200 * time.Millisecond
		ctx := context.Background()
		start := r.at(10, 0)

		// The reading replica: its own client, so its commands can be counted.
		var addrs []string
		var readerRDB redis.UniversalClient
		switch c := r.rdb.(type) {
		case *redis.Client:
			o := *c.Options()
			readerRDB = redis.NewClient(&o)
		case *redis.ClusterClient:
			o := c.Options()
			addrs = o.Addrs
			readerRDB = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		}
		defer readerRDB.Close()
		hook := &countingHook{}
		readerRDB.AddHook(hook)
		readerHolds := bookingredis.New(readerRDB)
		readerHolds.UseSnapshots(every)
		reader, err := booking.NewEngine(ctx, r.pg, readerHolds, nil)
		if err != nil {
			t.Fatal(err)
		}
		reader.Now = func() time.Time { return *r.now.Load() }

		if got := r.freeOn(reader, r.svc("ticket"), start); got != 10 {
			t.Fatalf("%d free, want 10", got)
		}
		// Served from memory: a burst of reads right after costs nothing.
		before := hook.n.Load()
		const reads = 200
		var wg sync.WaitGroup
		for i := 0; i < reads; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.freeOn(reader, r.svc("ticket"), start)
			}()
		}
		wg.Wait()
		if n := hook.n.Load() - before; n > reads/20 {
			t.Errorf("%d reads within the interval sent %d Redis commands, want at most %d", reads, n, reads/20)
		}
		// After the interval, one HGET confirms the unchanged day for all
		// readers at once.
		time.Sleep(every + 20*time.Millisecond)
		before = hook.n.Load()
		for i := 0; i < reads; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.freeOn(reader, r.svc("ticket"), start)
			}()
		}
		wg.Wait()
		if n := hook.n.Load() - before; n < 1 || n > 5 {
			t.Errorf("%d reads after the interval sent %d Redis commands, want a shared confirmation (1 to 5)", reads, n)
		}

		// Freshness: another replica holds a unit; the reader shows it
		// within the bound, on every try.
		for try := 0; try < 3; try++ {
			changed := time.Now()
			if _, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1); err != nil {
				t.Fatal(err)
			}
			want := 10 - (try + 1)
			for r.freeOn(reader, r.svc("ticket"), start) != want {
				if time.Since(changed) > time.Second {
					t.Fatalf("try %d: the reader still shows the old availability after %v", try, time.Since(changed))
				}
				time.Sleep(5 * time.Millisecond)
			}
			if lag := time.Since(changed); lag > every+100*time.Millisecond {
				t.Errorf("try %d: the change showed after %v, bound %v", try, lag, every)
			}
		}

		// An expiring hold frees its unit in the reader's view when it
		// expires, although no script ran since.
		r.advance(r.engine.HoldTTL)
		if got := r.freeOn(reader, r.svc("ticket"), start); got != 10 {
			t.Errorf("after the holds expired the reader shows %d free, want 10", got)
		}
		// A reader's own hold shows at once.
		if _, err := reader.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1); err != nil {
			t.Fatal(err)
		}
		if got := r.freeOn(reader, r.svc("ticket"), start); got != 9 {
			t.Errorf("after its own hold the reader shows %d free, want 9", got)
		}
	})
}
