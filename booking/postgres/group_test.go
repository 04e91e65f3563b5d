package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
)

// newBooking is a booking of the office's service at start on unit.
func (o *office) newBooking(start time.Time, unit int, hold, email string, limit int) *booking.NewBooking {
	b := &booking.Booking{Code: booking.NewBookingCode(), HoldID: hold, LocationID: o.loc, ServiceID: o.svc,
		Items: []booking.Item{{ServiceID: o.svc, Count: 1}}, Start: start.UTC(), End: start.Add(15 * time.Minute).UTC(),
		Units: []int{unit}, Name: "Erika", Email: email, Lang: booking.LangDE, Status: booking.StatusConfirmed,
		CalendarUID: booking.RandomCode(20) + "@termin"}
	hash := sha256.Sum256([]byte(b.Code))
	contact := sha256.Sum256([]byte(email))
	return &booking.NewBooking{Booking: b, TokenHash: hash[:],
		Limit: booking.ContactLimit{Hash: contact[:], Day: booking.DateOf(start.In(o.tz)), Max: limit},
		Cells: []booking.UnitCell{{CellStart: start.UTC(), Unit: unit}}, Now: time.Now().UTC()}
}

// Concurrent bookings are written in shared transactions, and each keeps
// its own outcome: those that meet their UNIQUE guard (unit, hold) or the
// contact limit are refused alone, the others are all written.
func TestBookingsWrittenInGroups(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	day := time.Date(2030, time.January, 7, 8, 0, 0, 0, o.tz)
	// What the refused ones will meet: a booked unit, a used hold, a
	// contact at its limit.
	taken := o.newBooking(day.Add(6*time.Hour), 0, "hold-taken", "first@example.org", 0)
	used := o.newBooking(day.Add(6*time.Hour), 1, "hold-used", "second@example.org", 0)
	limited := o.newBooking(day.Add(7*time.Hour), 0, "hold-limited", "limit@example.org", 1)
	for _, nb := range []*booking.NewBooking{taken, used, limited} {
		if err := o.store.InsertBooking(ctx, nb); err != nil {
			t.Fatal(err)
		}
	}
	type attempt struct {
		nb   *booking.NewBooking
		want error
	}
	var attempts []attempt
	for i := 0; i < 40; i++ { // 20 slots from 08:00, both units
		nb := o.newBooking(day.Add(time.Duration(i/2)*15*time.Minute), i%2, "hold-good-"+booking.RandomCode(8), booking.RandomCode(6)+"@example.org", 2)
		attempts = append(attempts, attempt{nb, nil})
	}
	for i := 0; i < 4; i++ {
		attempts = append(attempts,
			attempt{o.newBooking(day.Add(6*time.Hour), 0, "hold-clash-"+booking.RandomCode(8), booking.RandomCode(6)+"@example.org", 0), booking.ErrUnitTaken},
			attempt{o.newBooking(day.Add(7*time.Hour+15*time.Minute*time.Duration(i+1)), 1, "hold-used", booking.RandomCode(6)+"@example.org", 0), booking.ErrHoldUsed},
			attempt{o.newBooking(day.Add(7*time.Hour+15*time.Minute*time.Duration(i+1)), 0, "hold-over-"+booking.RandomCode(8), "limit@example.org", 1), booking.ErrContactLimit})
	}
	gate := make(chan struct{})
	errs := make([]error, len(attempts))
	var wg sync.WaitGroup
	for i, a := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			errs[i] = o.store.InsertBooking(ctx, a.nb)
		}()
	}
	close(gate)
	wg.Wait()
	for i, a := range attempts {
		if !errors.Is(errs[i], a.want) || (a.want == nil && errs[i] != nil) {
			t.Errorf("booking %d (%s): %v, want %v", i, a.nb.Booking.HoldID, errs[i], a.want)
		}
		if a.want == nil {
			if a.nb.Booking.ID == 0 {
				t.Errorf("booking %d has no id", i)
			} else if b, err := o.store.BookingByID(ctx, a.nb.Booking.ID); err != nil || b.HoldID != a.nb.Booking.HoldID {
				t.Errorf("booking %d not in the record: %v", i, err)
			}
		} else if a.nb.Booking.ID != 0 {
			t.Errorf("refused booking %d kept id %d", i, a.nb.Booking.ID)
		}
	}
	cells, err := o.store.BookedCells(ctx, o.loc, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 43 {
		t.Errorf("%d booked cells, want 43 (40 written now, 3 before)", len(cells))
	}
	groups, grouped := bookingpg.GroupStats(o.store)
	t.Logf("%d bookings in %d group transactions", grouped, groups)
	if groups == 0 || grouped < 2*groups {
		t.Errorf("%d group transactions of %d bookings: the burst was not grouped", groups, grouped)
	}
}

// BenchmarkBurstOfConfirms writes bursts of 200 concurrent bookings, in
// groups and one transaction each. The difference is the commits' flush
// to disk, so run it on a PostgreSQL with fsync on
// (STACK_DURABLE=1 deploy/stack.sh start DIR):
//
//	go test ./booking/postgres -run - -bench BurstOfConfirms -benchtime 5x
func BenchmarkBurstOfConfirms(b *testing.B) {
	for _, limit := range []int{0, 1} {
		name := "grouped"
		if limit == 1 {
			name = "one-transaction-each"
		}
		b.Run(name, func(b *testing.B) {
			o := newOffice(b)
			bookingpg.SetGroupLimit(o.store, limit)
			ctx := context.Background()
			const burst = 200
			var worst time.Duration
			for i := 0; i < b.N; i++ {
				day := time.Date(2030, time.January, 7+7*i, 8, 0, 0, 0, o.tz)
				var wg sync.WaitGroup
				lat := make([]time.Duration, burst)
				gate := make(chan struct{})
				for k := 0; k < burst; k++ {
					nb := o.newBooking(day.Add(time.Duration(k)*15*time.Minute), 0, "bench-"+booking.RandomCode(12), booking.RandomCode(8)+"@example.org", 0)
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-gate
						t0 := time.Now()
						if err := o.store.InsertBooking(ctx, nb); err != nil {
							b.Error(err)
						}
						lat[k] = time.Since(t0)
					}()
				}
				close(gate)
				wg.Wait()
				for _, l := range lat {
					worst = max(worst, l)
				}
			}
			b.ReportMetric(float64(worst)/float64(time.Millisecond), "worst-ms")
		})
	}
}
