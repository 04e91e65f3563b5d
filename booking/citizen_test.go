package booking_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// office turns the rig's location into an office.
func office(l *booking.Location) { l.Kind = booking.KindOffice }

func (r *rig) items(kv ...any) []booking.Item {
	var out []booking.Item
	for i := 0; i < len(kv); i += 2 {
		out = append(out, booking.Item{ServiceID: r.svc(kv[i].(string)), Count: kv[i+1].(int)})
	}
	return out
}

func (r *rig) day(offset int) booking.Date {
	return booking.Date{Year: 2030, Month: time.January, Day: 7}.AddDays(offset)
}

func (r *rig) book(items []booking.Item, start time.Time, c booking.Contact) *booking.Confirmation {
	r.t.Helper()
	ctx := context.Background()
	h, err := r.engine.PlaceHoldFor(ctx, r.loc.ID, items, start)
	if err != nil {
		r.t.Fatalf("hold %v at %s: %v", items, start, err)
	}
	conf, err := r.engine.Book(ctx, h.ID, c, booking.BookOptions{})
	if err != nil {
		r.t.Fatalf("book: %v", err)
	}
	return conf
}

// keysOf lists the Redis keys of the rig's location, on every master.
func (r *rig) keysOf() []string {
	r.t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, "{"+r.loc.ID+":*", 1000).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			keys = append(keys, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	switch c := r.rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return keys
}

func kinds(evs []booking.Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return strings.Join(out, ",")
}

func (r *rig) pending(id int64) string {
	r.t.Helper()
	evs, err := r.pg.PendingEvents(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return kinds(evs)
}

func TestMultiServiceOfficeAppointment(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRigWith(t, b, office, 1, 10,
			booking.Service{ID: "ausweis", DurationMinutes: 20, MaxUnits: 1, Payment: booking.PayCounter},
			booking.Service{ID: "pass", DurationMinutes: 30, MaxUnits: 1, Payment: booking.PayCounter})
		ctx := context.Background()
		// The only desk is taken 10:20-10:40.
		r.book(r.items("ausweis", 1), r.at(10, 20), someone)
		both := r.items("ausweis", 1, "pass", 1)
		slots, err := r.engine.AvailabilityFor(ctx, r.loc.ID, both, r.day(0), r.day(0))
		if err != nil {
			t.Fatal(err)
		}
		listed := map[time.Time]bool{}
		for _, s := range slots {
			if s.End.Sub(s.Start) != 50*time.Minute || s.Free != 1 {
				t.Errorf("slot %+v: want 50 minutes, one desk free", s)
			}
			listed[s.Start] = true
		}
		// 07:00 to 20:10 on the 10-minute grid, without the starts whose
		// 50 minutes would overlap 10:20-10:40 (09:40 to 10:30).
		want := 0
		for t0 := r.at(7, 0); !t0.After(r.at(20, 10)); t0 = t0.Add(10 * time.Minute) {
			blocked := t0.After(r.at(9, 30)) && t0.Before(r.at(10, 40))
			if !blocked {
				want++
			}
			if listed[t0.UTC()] == blocked {
				t.Errorf("%s listed %v, blocked %v", t0.Format("15:04"), listed[t0.UTC()], blocked)
			}
		}
		if len(slots) != want {
			t.Errorf("%d starts listed, want %d", len(slots), want)
		}
		// What is listed can be held, what is not listed cannot.
		for t0 := r.at(6, 50); !t0.After(r.at(20, 30)); t0 = t0.Add(10 * time.Minute) {
			h, err := r.engine.PlaceHoldFor(ctx, r.loc.ID, both, t0)
			if (err == nil) != listed[t0.UTC()] {
				t.Errorf("hold at %s: %v, listed %v", t0.Format("15:04"), err, listed[t0.UTC()])
			}
			if err == nil {
				if len(h.Units) != 1 || h.End.Sub(h.Start) != 50*time.Minute || len(h.Items) != 2 {
					t.Errorf("hold %+v: want one desk for 50 minutes and two items", h)
				}
				if err := r.engine.ReleaseHold(ctx, h.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		conf := r.book(both, r.at(8, 0), someone)
		got, err := r.engine.BookingByID(ctx, conf.Booking.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Items) != 2 || got.End.Sub(got.Start) != 50*time.Minute || got.Persons() != 1 {
			t.Errorf("booking %+v: want two services, 50 minutes, one desk", got)
		}
		if n := r.liveUnits(r.at(8, 0), r.at(9, 0)); n != 5 {
			t.Errorf("%d unit cells booked for 08:00-08:50, want 5", n)
		}
		// A single service keeps its own starts (step = its duration).
		single, err := r.engine.Availability(ctx, r.loc.ID, r.svc("pass"), r.day(0), r.day(0))
		if err != nil {
			t.Fatal(err)
		}
		if len(single) != 28 || !single[1].Start.Equal(r.at(7, 30).UTC()) {
			t.Errorf("single service: %d starts, second %v", len(single), single[1].Start)
		}
		for _, bad := range []struct {
			items []booking.Item
			want  error
		}{
			{nil, booking.ErrChoiceInvalid},
			{r.items("ausweis", 1, "ausweis", 1), booking.ErrChoiceInvalid},
			{r.items("ausweis", 2, "pass", 1), booking.ErrUnitsInvalid},
			{r.items("ausweis", 1, "nothing", 1), booking.ErrServiceUnknown},
		} {
			if _, err := r.engine.PlaceHoldFor(ctx, r.loc.ID, bad.items, r.at(12, 0)); !errors.Is(err, bad.want) {
				t.Errorf("hold %v: %v, want %v", bad.items, err, bad.want)
			}
			if _, err := r.engine.AvailabilityFor(ctx, r.loc.ID, bad.items, r.day(0), r.day(0)); !errors.Is(err, bad.want) {
				t.Errorf("availability %v: %v, want %v", bad.items, err, bad.want)
			}
		}
	})
}

func TestCalendarDaysAndNextFree(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		nine, _ := booking.ParseClockTime("09:00")
		eleven, _ := booking.ParseClockTime("11:00")
		r := newRigWith(t, b, func(l *booking.Location) {
			l.Kind = booking.KindOffice
			l.BookingHorizonDays = 10
			l.Opening = []booking.OpeningRule{{Weekday: time.Monday, Opens: nine, Closes: eleven}, {Weekday: time.Wednesday, Opens: nine, Closes: eleven}}
			l.Closures = []booking.Closure{{Day: booking.Date{Year: 2030, Month: time.January, Day: 9}, Reason: "Betriebsausflug"}}
		}, 1, 30, booking.Service{ID: "a", DurationMinutes: 30, MaxUnits: 1}, booking.Service{ID: "b", DurationMinutes: 60, MaxUnits: 1})
		ctx := context.Background()
		both := r.items("a", 1, "b", 1)
		// Monday: 09:00-09:30 and 10:30-11:00 taken; no 90 minutes left.
		r.book(r.items("a", 1), r.at(9, 0), someone)
		r.book(r.items("a", 1), r.at(10, 30), someone)
		cal, err := r.engine.Calendar(ctx, r.loc.ID, both, r.day(0), r.day(60))
		if err != nil {
			t.Fatal(err)
		}
		// Wed 9th closed, Mon 14th and Wed 16th open, the 17th is the
		// horizon's last day: nothing after it.
		got := fmt.Sprint(cal.Days)
		want := fmt.Sprint([]booking.CalendarDay{{Day: r.day(7), Free: 2}, {Day: r.day(9), Free: 2}})
		if got != want {
			t.Errorf("days %s, want %s", got, want)
		}
		if cal.Next == nil || !cal.Next.Start.Equal(time.Date(2030, time.January, 14, 9, 0, 0, 0, r.tz)) {
			t.Errorf("next %+v, want Mon 14th 09:00", cal.Next)
		}
		// Asked for Monday alone: no day, but the next free time beyond.
		cal, err = r.engine.Calendar(ctx, r.loc.ID, both, r.day(0), r.day(0))
		if err != nil {
			t.Fatal(err)
		}
		if len(cal.Days) != 0 || cal.Next == nil || !cal.Next.Start.Equal(time.Date(2030, time.January, 14, 9, 0, 0, 0, r.tz)) {
			t.Errorf("monday alone: %+v next %+v", cal.Days, cal.Next)
		}
		// The single 30-minute service still fits on Monday.
		cal, err = r.engine.Calendar(ctx, r.loc.ID, r.items("a", 1), r.day(0), r.day(0))
		if err != nil || len(cal.Days) != 1 || cal.Days[0].Free != 2 {
			t.Errorf("single service monday: %+v %v", cal, err)
		}
		if _, err := r.engine.Calendar(ctx, r.loc.ID, both, r.day(1), r.day(0)); !errors.Is(err, booking.ErrRangeInvalid) {
			t.Errorf("reversed range: %v", err)
		}
		// Nothing within the horizon: no next.
		r.book(both, time.Date(2030, time.January, 14, 9, 0, 0, 0, r.tz), someone)
		r.book(both, time.Date(2030, time.January, 16, 9, 30, 0, 0, r.tz), someone)
		cal, err = r.engine.Calendar(ctx, r.loc.ID, both, r.day(0), r.day(60))
		if err != nil || len(cal.Days) != 0 || cal.Next != nil {
			t.Errorf("full: %+v %v", cal, err)
		}
	})
}

// TestBookabilityAgrees: availability and hold
// decide with one function (horizon, lead time, closures), the queried
// range is bounded, and no Redis key outlives its day.
func TestBookabilityAgrees(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRigWith(t, b, func(l *booking.Location) {
			l.BookingHorizonDays = 3
			l.LeadMinutes = 120 // now is 06:00: the first start is 08:00
			l.Closures = []booking.Closure{{Day: booking.Date{Year: 2030, Month: time.January, Day: 8}}}
		}, 2, 60, booking.Service{ID: "ticket", DurationMinutes: 60, MaxUnits: 2})
		ctx := context.Background()
		slots, err := r.engine.Availability(ctx, r.loc.ID, r.svc("ticket"), r.day(0), r.day(30))
		if err != nil {
			t.Fatal(err)
		}
		listed := map[time.Time]bool{}
		for _, s := range slots {
			listed[s.Start] = true
		}
		for d := 0; d <= 30; d++ {
			for h := 0; h < 24; h++ {
				day := r.day(d)
				start := time.Date(day.Year, day.Month, day.Day, h, 0, 0, 0, r.tz)
				hold, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), start, 1)
				if (err == nil) != listed[start.UTC()] {
					t.Fatalf("%s: hold %v, listed %v", start, err, listed[start.UTC()])
				}
				if err == nil {
					r.engine.ReleaseHold(ctx, hold.ID)
				}
			}
		}
		// Today from 08:00, the 8th closed, the 9th and 10th open.
		if len(slots) != 13+0+14+14 || !slots[0].Start.Equal(r.at(8, 0).UTC()) {
			t.Errorf("%d starts, first %v", len(slots), slots[0].Start)
		}
		if _, err := r.engine.Availability(ctx, r.loc.ID, r.svc("ticket"), r.day(0), r.day(31)); !errors.Is(err, booking.ErrRangeInvalid) {
			t.Errorf("32 days: %v", err)
		}
		if _, err := r.engine.Availability(ctx, r.loc.ID, r.svc("ticket"), r.day(1), r.day(0)); !errors.Is(err, booking.ErrRangeInvalid) {
			t.Errorf("reversed: %v", err)
		}
		far := booking.Date{Year: 9999, Month: time.December, Day: 1}
		slots, err = r.engine.Availability(ctx, r.loc.ID, r.svc("ticket"), far, far.AddDays(30))
		if err != nil || len(slots) != 0 {
			t.Errorf("year 9999: %d slots, %v", len(slots), err)
		}
		if _, err := r.engine.Calendar(ctx, r.loc.ID, r.items("ticket", 1), far, far.AddDays(300)); err != nil {
			t.Errorf("calendar 9999: %v", err)
		}
		// Only the days inside the window have keys, and each key lives
		// until at most three local midnights after its day.
		now := *r.now.Load()
		for _, k := range r.keysOf() {
			var day booking.Date
			for d := 0; d <= 3; d++ {
				if strings.HasPrefix(k, "{"+r.loc.ID+":"+r.day(d).String()+"}") {
					day = r.day(d)
				}
			}
			if day.Year == 0 {
				t.Errorf("key %s outside the booking window", k)
				continue
			}
			ttl, err := r.rdb.TTL(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if limit := day.AddDays(3).Midnight(r.tz).Sub(now); ttl <= 0 || ttl > limit {
				t.Errorf("key %s: TTL %s, want at most %s", k, ttl, limit)
			}
		}
	})
}

func TestPoolOrderOfSeveralTicketTypes(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRig(t, b, 5, 90,
			booking.Service{ID: "adult", DurationMinutes: 90, MaxUnits: 4, FeeCents: 450},
			booking.Service{ID: "reduced", DurationMinutes: 90, MaxUnits: 4, FeeCents: 250},
			booking.Service{ID: "sauna", DurationMinutes: 180, MaxUnits: 4, FeeCents: 900},
			booking.Service{ID: "locker", DurationMinutes: 90, MaxUnits: 4, FeeCents: 100, Payment: booking.PayCounter})
		ctx := context.Background()
		order := r.items("adult", 2, "reduced", 1)
		h, err := r.engine.PlaceHoldFor(ctx, r.loc.ID, order, r.at(10, 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Units) != 3 || h.End.Sub(h.Start) != 90*time.Minute {
			t.Fatalf("hold %+v: want 3 persons for one 90-minute slot", h)
		}
		// Two places are left.
		if _, err := r.engine.PlaceHoldFor(ctx, r.loc.ID, order, r.at(10, 0)); !errors.Is(err, booking.ErrSlotFull) {
			t.Errorf("second order of 3: %v", err)
		}
		slots, _ := r.engine.AvailabilityFor(ctx, r.loc.ID, order, r.day(0), r.day(0))
		for _, s := range slots {
			if s.Start.Equal(r.at(10, 0).UTC()) {
				t.Errorf("10:00 listed for 3 persons with 2 free")
			}
		}
		for _, bad := range []struct {
			items []booking.Item
			want  error
		}{
			{r.items("adult", 1, "sauna", 1), booking.ErrChoiceInvalid},
			{r.items("adult", 1, "locker", 1), booking.ErrChoiceInvalid}, // paid differently
			{r.items("adult", 3, "reduced", 2), booking.ErrUnitsInvalid},
			{r.items("adult", 0, "reduced", 2), booking.ErrUnitsInvalid},
		} {
			if _, err := r.engine.PlaceHoldFor(ctx, r.loc.ID, bad.items, r.at(13, 0)); !errors.Is(err, bad.want) {
				t.Errorf("hold %v: %v, want %v", bad.items, err, bad.want)
			}
		}
		lines, err := r.engine.HoldLines(ctx, h.ID)
		if err != nil || len(lines) != 2 || lines[0].Count != 2 || lines[1].Service.FeeCents != 250 {
			t.Errorf("hold lines %+v %v", lines, err)
		}
		conf, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{})
		if err != nil {
			t.Fatal(err)
		}
		bk, _ := r.engine.BookingByID(ctx, conf.Booking.ID)
		if bk.Persons() != 3 || len(bk.Items) != 2 || bk.ServiceID != r.svc("adult") {
			t.Errorf("booking %+v", bk)
		}
		det, err := r.engine.Details(ctx, bk.ID)
		if err != nil || det.FeeCents != 2*450+250 || !det.PaidOnline || len(det.Lines) != 2 {
			t.Errorf("details %+v %v", det, err)
		}
		// One QR for the order, with the count by ticket type.
		pub, priv, _ := ed25519.GenerateKey(nil)
		c, err := booking.VerifyTicket(pub, booking.SignTicket(priv, booking.ClaimsOf(bk)))
		if err != nil || c.Units != 3 || len(c.Tickets) != 2 || c.Tickets[0].Count != 2 {
			t.Errorf("claims %+v %v", c, err)
		}
		// A one-type ticket's payload has no breakdown: it is what it was.
		single := r.book(r.items("adult", 2), r.at(10, 0), someone)
		payload := booking.SignTicket(priv, booking.ClaimsOf(single.Booking))
		body, _ := base64.RawURLEncoding.DecodeString(strings.Split(payload, ".")[1])
		if strings.Contains(string(body), `"t"`) {
			t.Errorf("single-type payload %s carries a breakdown", body)
		}
	})
}

func TestRescheduleKeepsCodeAndToken(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRigWith(t, b, office, 1, 30,
			booking.Service{ID: "a", DurationMinutes: 30, MaxUnits: 1},
			booking.Service{ID: "b", DurationMinutes: 30, MaxUnits: 1})
		r.engine.ManageKey = []byte("test manage key")
		ctx := context.Background()
		both := r.items("a", 1, "b", 1)
		conf := r.book(both, r.at(10, 0), someone)
		// Today, within ReminderBefore: no reminder.
		if got := r.pending(conf.Booking.ID); got != "confirmed" {
			t.Errorf("events after booking: %s", got)
		}
		h, err := r.engine.PlaceHoldFor(ctx, r.loc.ID, both, time.Date(2030, time.January, 8, 14, 0, 0, 0, r.tz))
		if err != nil {
			t.Fatal(err)
		}
		moved, err := r.engine.Reschedule(ctx, conf.Booking.Code, conf.ManageToken, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if moved.Code != conf.Booking.Code || moved.ID != conf.Booking.ID || moved.Sequence != 1 ||
			!moved.Start.Equal(h.Start) || moved.PreviousStart == nil || !moved.PreviousStart.Equal(conf.Booking.Start) {
			t.Errorf("moved %+v", moved)
		}
		if _, err := r.engine.Lookup(ctx, conf.Booking.Code, conf.ManageToken); err != nil {
			t.Errorf("token after reschedule: %v", err)
		}
		if tok, err := r.engine.ManageToken(ctx, moved.ID); err != nil || tok != conf.ManageToken {
			t.Errorf("recomputed token %q %v", tok, err)
		}
		// The old time is free again, the new one taken.
		if n := r.liveUnits(r.at(10, 0), r.at(11, 0)); n != 0 {
			t.Errorf("old slot still has %d unit cells", n)
		}
		if n := r.free(r.at(10, 0), "a"); n != 1 {
			t.Errorf("old slot shows %d free", n)
		}
		if got := r.pending(moved.ID); got != "confirmed,rescheduled,reminder" {
			t.Errorf("events after reschedule: %s", got)
		}
		// A hold for another choice, a cancelled booking: refused.
		other, _ := r.engine.PlaceHoldFor(ctx, r.loc.ID, r.items("a", 1), r.at(15, 0))
		if _, err := r.engine.Reschedule(ctx, conf.Booking.Code, conf.ManageToken, other.ID); !errors.Is(err, booking.ErrNotReschedulable) {
			t.Errorf("other choice: %v", err)
		}
		if _, err := r.engine.Reschedule(ctx, conf.Booking.Code, "wrong", other.ID); !errors.Is(err, booking.ErrBookingNotFound) {
			t.Errorf("wrong token: %v", err)
		}
		if _, err := r.engine.Cancel(ctx, conf.Booking.Code, conf.ManageToken, nil); err != nil {
			t.Fatal(err)
		}
		h2, _ := r.engine.PlaceHoldFor(ctx, r.loc.ID, both, r.at(16, 0))
		if _, err := r.engine.Reschedule(ctx, conf.Booking.Code, conf.ManageToken, h2.ID); !errors.Is(err, booking.ErrNotReschedulable) {
			t.Errorf("cancelled: %v", err)
		}
		if got := r.pending(moved.ID); got != "confirmed,rescheduled,cancelled" {
			t.Errorf("events after cancel: %s", got)
		}
		cur, _ := r.engine.BookingByID(ctx, moved.ID)
		if cur.Sequence != 2 {
			t.Errorf("sequence after cancel %d, want 2", cur.Sequence)
		}
	})
}

// repairs counts the engine's warnings that the hold store offered a unit
// the record had booked: what a unit given twice would show.
type repairs struct {
	slog.Handler
	n *atomic.Int64
}

func (h repairs) Handle(ctx context.Context, rec slog.Record) error {
	if strings.Contains(rec.Message, "offered a booked unit") {
		h.n.Add(1)
	}
	return nil
}

func (h repairs) Enabled(context.Context, slog.Level) bool { return true }

// TestConcurrentReschedulesNeverGiveAUnitTwice moves bookings back and
// forth while other citizens hold and book the units they free: every hold
// the hold store grants must be bookable (a unit given twice would make
// the record refuse it), the record never has a unit twice, and in the
// end the hold store agrees with the record.
func TestConcurrentReschedulesNeverGiveAUnitTwice(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRigWith(t, b, office, 2, 30, booking.Service{ID: "a", DurationMinutes: 60, MaxUnits: 1})
		var repaired atomic.Int64
		e, err := booking.NewEngine(context.Background(), r.pg, r.holds, slog.New(repairs{Handler: slog.DiscardHandler, n: &repaired}))
		if err != nil {
			t.Fatal(err)
		}
		e.Now = func() time.Time { return *r.now.Load() }
		r.engine = e
		ctx := context.Background()
		starts := []time.Time{}
		for h := 8; h < 14; h++ {
			starts = append(starts, r.at(h, 0))
		}
		var confs []*booking.Confirmation
		for i := 0; i < 4; i++ {
			confs = append(confs, r.book(r.items("a", 1), starts[i], booking.Contact{Name: "M", Email: fmt.Sprintf("m%d@example.org", i)}))
		}
		var moves, books, stale atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for i := 0; i < 40; i++ {
					start := starts[rng.IntN(len(starts))]
					h, err := e.PlaceHoldFor(ctx, r.loc.ID, r.items("a", 1), start)
					if errors.Is(err, booking.ErrSlotFull) {
						continue
					}
					if err != nil {
						t.Errorf("hold: %v", err)
						return
					}
					if w%2 == 0 {
						c := confs[rng.IntN(len(confs))]
						_, err = e.Reschedule(ctx, c.Booking.Code, c.ManageToken, h.ID)
						switch {
						case err == nil:
							moves.Add(1)
						case errors.Is(err, booking.ErrNotReschedulable):
							// Another worker moved it first: its start changed.
							stale.Add(1)
							e.ReleaseHold(ctx, h.ID)
						default:
							t.Errorf("reschedule: %v", err)
						}
						continue
					}
					conf, err := e.Book(ctx, h.ID, booking.Contact{Name: "N", Email: fmt.Sprintf("n%d-%d@example.org", w, i)}, booking.BookOptions{})
					if err != nil {
						t.Errorf("book a granted hold: %v", err)
						continue
					}
					books.Add(1)
					if rng.IntN(2) == 0 {
						if _, err := e.Cancel(ctx, conf.Booking.Code, conf.ManageToken, nil); err != nil {
							t.Errorf("cancel: %v", err)
						}
					}
				}
			}()
		}
		wg.Wait()
		if repaired.Load() != 0 {
			t.Errorf("the hold store offered a booked unit %d times", repaired.Load())
		}
		if moves.Load() == 0 || books.Load() == 0 {
			t.Errorf("moves %d, books %d: the test did not exercise both", moves.Load(), books.Load())
		}
		// The hold store agrees with the record at every start.
		for _, st := range starts {
			booked := r.liveUnits(st, st.Add(30*time.Minute))
			bm, err := r.holds.Bitmap(ctx, r.loc.ID, r.day(0), *r.now.Load())
			if err != nil {
				t.Fatal(err)
			}
			cell := int(st.Sub(r.day(0).Midnight(r.tz)).Minutes()) / 30
			bits := 0
			for u := 0; u < 2; u++ {
				off := cell*2 + u
				if off/8 < len(bm) && bm[off/8]&(0x80>>(off%8)) != 0 {
					bits++
				}
			}
			if bits != booked {
				t.Errorf("%s: hold store has %d units taken, record %d", st.Format("15:04"), bits, booked)
			}
		}
		t.Logf("moves %d (stale %d), bookings %d", moves.Load(), stale.Load(), books.Load())
	})
}

func TestDoubleOptIn(t *testing.T) {
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r := newRigWith(t, b, func(l *booking.Location) {
			l.Kind = booking.KindOffice
			l.ActivationMinutes = 30
		}, 1, 60, booking.Service{ID: "a", DurationMinutes: 60, MaxUnits: 1})
		ctx := context.Background()
		conf := r.book(r.items("a", 1), r.at(10, 0), someone)
		if conf.Booking.Status != booking.StatusPendingActivation || conf.Booking.ActivationDeadline == nil {
			t.Fatalf("booking %+v: want pending activation with a deadline", conf.Booking)
		}
		if got := r.pending(conf.Booking.ID); got != "activation_requested" {
			t.Errorf("events: %s", got)
		}
		if r.free(r.at(10, 0), "a") != 0 {
			t.Errorf("a pending activation does not hold its unit")
		}
		if _, err := r.engine.Activate(ctx, conf.Booking.Code, "wrong"); !errors.Is(err, booking.ErrBookingNotFound) {
			t.Errorf("wrong token: %v", err)
		}
		got, err := r.engine.Activate(ctx, conf.Booking.Code, conf.ManageToken)
		if err != nil || got.Status != booking.StatusConfirmed {
			t.Fatalf("activate: %+v %v", got, err)
		}
		if got, err := r.engine.Activate(ctx, conf.Booking.Code, conf.ManageToken); err != nil || got.Status != booking.StatusConfirmed {
			t.Errorf("second activation: %+v %v", got, err)
		}
		if got := r.pending(conf.Booking.ID); got != "activation_requested,confirmed" {
			t.Errorf("events after activation: %s", got)
		}
		// Not activated in time: released by the sweep, once, whichever
		// replica runs it.
		var late []*booking.Confirmation
		for h := 11; h < 19; h++ {
			late = append(late, r.book(r.items("a", 1), r.at(h, 0), booking.Contact{Name: "L", Email: fmt.Sprintf("l%d@example.org", h)}))
		}
		if n, err := r.engine.ExpireActivations(ctx); err != nil || n != 0 {
			t.Errorf("sweep before the deadline: %d %v", n, err)
		}
		r.advance(31 * time.Minute)
		if _, err := r.engine.Activate(ctx, late[0].Booking.Code, late[0].ManageToken); !errors.Is(err, booking.ErrNotActivatable) {
			t.Errorf("activation after the deadline: %v", err)
		}
		var total atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			e := r.newEngine()
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := e.ExpireActivations(ctx)
				if err != nil {
					t.Error(err)
				}
				total.Add(int64(n))
			}()
		}
		wg.Wait()
		if total.Load() != int64(len(late)) {
			t.Errorf("released %d, want %d", total.Load(), len(late))
		}
		for _, c := range late {
			bk, _ := r.engine.BookingByID(ctx, c.Booking.ID)
			if bk.Status != booking.StatusCancelled {
				t.Errorf("booking %s: %s", bk.Code, bk.Status)
			}
			if got := r.pending(c.Booking.ID); got != "activation_requested,activation_expired" {
				t.Errorf("events of released %s: %s", bk.Code, got)
			}
		}
		if r.free(r.at(11, 0), "a") != 1 || r.liveUnits(r.at(11, 0), r.at(19, 0)) != 0 {
			t.Errorf("released units not free")
		}
		if _, err := r.engine.Activate(ctx, late[0].Booking.Code, late[0].ManageToken); !errors.Is(err, booking.ErrNotActivatable) {
			t.Errorf("activation of a released booking: %v", err)
		}
	})
}

func TestManageTokenLanguageAndFindBooking(t *testing.T) {
	r := newRig(t, servicetest.SingleRedis, 4, 60, booking.Service{ID: "a", DurationMinutes: 60, MaxUnits: 2})
	ctx := context.Background()
	plain := r.book(r.items("a", 1), r.at(9, 0), someone)
	if _, err := r.engine.ManageToken(ctx, plain.Booking.ID); !errors.Is(err, booking.ErrTokenUnavailable) {
		t.Errorf("without a key: %v", err)
	}
	r.engine.ManageKey = []byte("k1")
	conf := r.book(r.items("a", 1), r.at(10, 0), booking.Contact{Name: "Jane Doe", Email: "Jane.Doe+pool@example.org", Phone: "+49 261 129-0", Lang: booking.LangEN})
	if _, err := r.engine.ManageToken(ctx, plain.Booking.ID); !errors.Is(err, booking.ErrTokenUnavailable) {
		t.Errorf("booking from before the key: %v", err)
	}
	tok, err := r.engine.ManageToken(ctx, conf.Booking.ID)
	if err != nil || tok != conf.ManageToken {
		t.Fatalf("recomputed %q %v, issued %q", tok, err, conf.ManageToken)
	}
	other := r.newEngine()
	other.ManageKey = []byte("k1")
	if tok2, _ := other.ManageToken(ctx, conf.Booking.ID); tok2 != tok {
		t.Errorf("another replica computes %q", tok2)
	}
	bk, _ := r.engine.BookingByID(ctx, conf.Booking.ID)
	if bk.Lang != booking.LangEN || bk.Phone != "+49 261 129-0" || !strings.HasSuffix(bk.CalendarUID, "@termin") {
		t.Errorf("booking %+v", bk)
	}
	for _, tt := range []struct {
		code, email string
		ok          bool
	}{
		{conf.Booking.Code, "jane.doe@example.org", true},
		{strings.ToLower(conf.Booking.Code), " Jane.Doe+pool@example.org ", true},
		{conf.Booking.Code, "someone@example.org", false},
		{"ZZZZZZZZ", "jane.doe@example.org", false},
		{plain.Booking.Code, "jane.doe@example.org", false},
		{"", "", false},
	} {
		got, err := r.engine.FindBooking(ctx, tt.code, tt.email)
		if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, booking.ErrBookingNotFound)) || (tt.ok && got.ID != conf.Booking.ID) {
			t.Errorf("find %q %q: %v", tt.code, tt.email, err)
		}
	}
	if err := r.engine.SendManageLink(ctx, conf.Booking.Code, "jane.doe@example.org", ""); err != nil {
		t.Fatal(err)
	}
	if err := r.engine.SendManageLink(ctx, conf.Booking.Code, "x@example.org", ""); !errors.Is(err, booking.ErrBookingNotFound) {
		t.Errorf("manage link for a wrong address: %v", err)
	}
	evs, _ := r.pg.PendingEvents(ctx, conf.Booking.ID)
	if kinds(evs) != "confirmed,manage_link" || evs[1].Lang != booking.LangEN {
		t.Errorf("events %+v", evs)
	}
	for _, c := range []booking.Contact{{Name: "A", Email: "a@b.de", Lang: "fr"}, {Name: "A", Email: "a@b.de", Phone: "call me"}} {
		h, _ := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("a"), r.at(12, 0), 1)
		if _, err := r.engine.Book(ctx, h.ID, c, booking.BookOptions{}); !errors.Is(err, booking.ErrLangInvalid) && !errors.Is(err, booking.ErrPhoneInvalid) {
			t.Errorf("contact %+v: %v", c, err)
		}
	}
}

func TestEventsOutboxLeases(t *testing.T) {
	r := newRig(t, servicetest.SingleRedis, 10, 60, booking.Service{ID: "a", DurationMinutes: 60, MaxUnits: 1})
	r.engine.ReminderBefore = 0 // only the confirmations
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		r.book(r.items("a", 1), r.at(10, 0), booking.Contact{Name: "E", Email: fmt.Sprintf("e%d@example.org", i)})
	}
	now := *r.now.Load()
	// Two workers claiming at once get different events.
	var mu sync.Mutex
	seen := map[int64]booking.Event{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs, err := r.pg.ClaimEvents(ctx, now, 4, time.Minute)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, ev := range evs {
				if _, dup := seen[ev.ID]; dup {
					t.Errorf("event %d claimed twice", ev.ID)
				}
				seen[ev.ID] = ev
			}
		}()
	}
	wg.Wait()
	if len(seen) != 10 {
		t.Fatalf("claimed %d events, want 10", len(seen))
	}
	if evs, _ := r.pg.ClaimEvents(ctx, now, 10, time.Minute); len(evs) != 0 {
		t.Errorf("leased events claimed again: %d", len(evs))
	}
	var first booking.Event
	for _, ev := range seen {
		first = ev
		break
	}
	if first.Attempt != 1 || first.Kind != booking.EventConfirmed || !first.LeaseUntil.Equal(now.Add(time.Minute)) {
		t.Errorf("claimed %+v", first)
	}
	// The lease runs out and another worker takes the event: the first
	// worker's late answer is refused.
	later := now.Add(2 * time.Minute)
	again, err := r.pg.ClaimEvents(ctx, later, 100, time.Minute)
	if err != nil || len(again) != 10 || again[0].Attempt != 2 {
		t.Fatalf("reclaim: %d %v", len(again), err)
	}
	if err := r.pg.EventDone(ctx, first, later); !errors.Is(err, booking.ErrLeaseLost) {
		t.Errorf("stale done: %v", err)
	}
	if err := r.pg.EventDone(ctx, again[0], later); err != nil {
		t.Error(err)
	}
	if err := r.pg.EventDone(ctx, again[0], later); !errors.Is(err, booking.ErrLeaseLost) {
		t.Errorf("done twice: %v", err)
	}
	if err := r.pg.EventFailed(ctx, again[1], later.Add(time.Hour), "smtp: 421 try later"); err != nil {
		t.Error(err)
	}
	if err := r.pg.EventDead(ctx, again[2], later, "smtp: 550 rejected"); err != nil {
		t.Error(err)
	}
	// Failed: due again an hour later, not before.
	evs, _ := r.pg.ClaimEvents(ctx, later.Add(3*time.Minute), 100, time.Minute)
	for _, ev := range evs {
		if ev.ID == again[1].ID || ev.ID == again[0].ID || ev.ID == again[2].ID {
			t.Errorf("event %d claimed before it is due", ev.ID)
		}
	}
	evs, _ = r.pg.ClaimEvents(ctx, later.Add(61*time.Minute), 100, time.Minute)
	found := false
	for _, ev := range evs {
		found = found || (ev.ID == again[1].ID && ev.Attempt == 3)
	}
	if !found {
		t.Errorf("failed event not claimed again when due")
	}
	dead, err := r.pg.DeadEvents(ctx, 10)
	if err != nil || len(dead) != 1 || dead[0].ID != again[2].ID || dead[0].LastError != "smtp: 550 rejected" {
		t.Errorf("dead letters %+v %v", dead, err)
	}
}

func TestRemindersFollowTheBooking(t *testing.T) {
	r := newRig(t, servicetest.SingleRedis, 2, 60, booking.Service{ID: "a", DurationMinutes: 60, MaxUnits: 1})
	r.engine.ManageKey = []byte("k")
	ctx := context.Background()
	start := time.Date(2030, time.January, 9, 10, 0, 0, 0, r.tz)
	conf := r.book(r.items("a", 1), start, someone)
	evs, _ := r.pg.PendingEvents(ctx, conf.Booking.ID)
	if kinds(evs) != "confirmed,reminder" || !evs[1].DeliverAfter.Equal(start.Add(-24*time.Hour)) {
		t.Fatalf("events %+v", evs)
	}
	later := start.Add(48 * time.Hour)
	h, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("a"), later, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.engine.Reschedule(ctx, conf.Booking.Code, conf.ManageToken, h.ID); err != nil {
		t.Fatal(err)
	}
	evs, _ = r.pg.PendingEvents(ctx, conf.Booking.ID)
	if kinds(evs) != "confirmed,rescheduled,reminder" || !evs[2].DeliverAfter.Equal(later.Add(-24*time.Hour)) {
		t.Fatalf("after reschedule %+v", evs)
	}
	var superseded int
	r.db.Get(&superseded, `SELECT count(*) FROM booking_events WHERE booking_id = $1 AND kind = 'reminder' AND state = 'done'`, conf.Booking.ID)
	if superseded != 1 {
		t.Errorf("%d superseded reminders, want 1", superseded)
	}
	if _, err := r.engine.Cancel(ctx, conf.Booking.Code, conf.ManageToken, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.pending(conf.Booking.ID); got != "confirmed,rescheduled,cancelled" {
		t.Errorf("after cancel: %s", got)
	}
	// A booking waiting for its payment is confirmed by the payment; until
	// then nothing is announced, and a cancellation before it neither.
	h, _ = r.engine.PlaceHold(ctx, r.loc.ID, r.svc("a"), start, 1)
	pend, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{Status: booking.StatusPendingPayment})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.engine.Cancel(ctx, pend.Booking.Code, pend.ManageToken, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.pending(pend.Booking.ID); got != "" {
		t.Errorf("unpaid booking's events: %s", got)
	}
}

func TestCatalogKeepsAddressAndWhatToBring(t *testing.T) {
	r := newRigWith(t, servicetest.SingleRedis, func(l *booking.Location) {
		l.Address = booking.Address{Street: "Bahnhofstraße 47", PostalCode: "56068", City: "Koblenz"}
		l.LeadMinutes, l.ActivationMinutes = 15, 20
	}, 1, 30, booking.Service{ID: "a", DurationMinutes: 30, MaxUnits: 1,
		WhatToBring: booking.Text{DE: "Personalausweis", EN: "Identity card"}})
	l, _, _ := r.engine.Location(r.loc.ID)
	s, _ := r.engine.Service(r.loc.ID, r.svc("a"))
	if l.Address.String() != "Bahnhofstraße 47, 56068 Koblenz" || l.LeadMinutes != 15 || l.ActivationMinutes != 20 ||
		s.WhatToBring != (booking.Text{DE: "Personalausweis", EN: "Identity card"}) {
		t.Errorf("location %+v service %+v", l, s)
	}
}

// A reschedule to another day moves the booking's count under the
// per-contact limit with it.
func TestRescheduleMovesTheContactCount(t *testing.T) {
	r := newRigWith(t, servicetest.SingleRedis, office, 3, 60, booking.Service{ID: "a", DurationMinutes: 60, MaxUnits: 1})
	r.engine.ContactLimits = map[string]int{booking.KindOffice: 1}
	ctx := context.Background()
	monday := r.book(r.items("a", 1), r.at(10, 0), someone)
	r.book(r.items("a", 1), r.at(10, 0).AddDate(0, 0, 1), someone)
	h, _ := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("a"), r.at(11, 0).AddDate(0, 0, 1), 1)
	if _, err := r.engine.Reschedule(ctx, monday.Booking.Code, monday.ManageToken, h.ID); !errors.Is(err, booking.ErrContactLimit) {
		t.Fatalf("onto a day at the limit: %v", err)
	}
	// The refused reschedule changed nothing and the hold is still good.
	if n := r.liveUnits(r.at(10, 0), r.at(11, 0)); n != 1 {
		t.Errorf("monday has %d unit cells", n)
	}
	h2, _ := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("a"), r.at(11, 0).AddDate(0, 0, 2), 1)
	if _, err := r.engine.Reschedule(ctx, monday.Booking.Code, monday.ManageToken, h2.ID); err != nil {
		t.Fatal(err)
	}
	// Monday's count went with it.
	r.book(r.items("a", 1), r.at(12, 0), someone)
	if _, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{}); !errors.Is(err, booking.ErrContactLimit) {
		t.Errorf("a second booking on tuesday: %v", err)
	}
}
