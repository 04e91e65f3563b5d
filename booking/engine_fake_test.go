package booking

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"
)

// The engine's decisions with the stores replaced by in-memory fakes that
// answer what a test tells them to and record what they were asked; the
// stores themselves are tested against Redis and PostgreSQL in
// engine_test.go.

type fakeRecords struct {
	locs     []Location
	services []Service
	// insert answers the InsertBooking calls in turn; nil after the last.
	insert   []error
	inserted []NewBooking
	holdUsed bool
	booked   []UnitCell
	byCode   map[string]*Booking
	hashes   map[string][]byte
	cancels  int
	freed    []UnitCell
}

func (f *fakeRecords) LoadCatalog(context.Context) ([]Location, []Service, error) {
	return f.locs, f.services, nil
}

func (f *fakeRecords) InsertBooking(_ context.Context, nb *NewBooking) error {
	var err error
	if len(f.insert) > 0 {
		err, f.insert = f.insert[0], f.insert[1:]
	}
	f.inserted = append(f.inserted, *nb)
	if err == nil {
		nb.Booking.ID = int64(len(f.inserted))
	}
	return err
}

func (f *fakeRecords) CancelBooking(context.Context, *Booking, time.Time) ([]UnitCell, error) {
	f.cancels++
	return f.freed, nil
}

func (f *fakeRecords) BookedCells(context.Context, string, time.Time, time.Time) ([]UnitCell, error) {
	return f.booked, nil
}

func (f *fakeRecords) BlockedUnits(context.Context, string, time.Time, time.Time, time.Time) ([]BlockedBooking, error) {
	return nil, nil
}

func (f *fakeRecords) HoldUsed(context.Context, string) (bool, error) { return f.holdUsed, nil }

func (f *fakeRecords) BookingByCode(_ context.Context, code string) (*Booking, []byte, error) {
	b, ok := f.byCode[code]
	if !ok {
		return nil, nil, ErrBookingNotFound
	}
	c := *b
	return &c, f.hashes[code], nil
}

func (f *fakeRecords) BookingByID(context.Context, int64) (*Booking, error) {
	return nil, ErrBookingNotFound
}

func (f *fakeRecords) Ping(context.Context) error { return nil }

// fakeHolds knows loaded days and one claimable hold; it logs its calls.
type fakeHolds struct {
	loaded map[Date]bool
	claim  *HoldRecord
	calls  []string
	marked [][]int
	freed  [][]int
}

func (f *fakeHolds) log(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeHolds) Hold(_ context.Context, q HoldRequest) ([]int, error) {
	if !f.loaded[q.Day] {
		f.log("hold: not loaded")
		return nil, ErrDayNotLoaded
	}
	f.log("hold")
	return []int{0}, nil
}

func (f *fakeHolds) Release(_ context.Context, _ string, _ Date, _ string, _ time.Time, force bool) (bool, error) {
	f.log("release force=%v", force)
	return true, nil
}

func (f *fakeHolds) Claim(context.Context, string, Date, string, time.Time, time.Time) (*HoldRecord, error) {
	f.log("claim")
	return f.claim, nil
}

func (f *fakeHolds) Unclaim(context.Context, string, Date, string) error {
	f.log("unclaim")
	return nil
}

func (f *fakeHolds) Confirm(context.Context, string, Date, string) error {
	f.log("confirm")
	return nil
}

func (f *fakeHolds) Mark(_ context.Context, _ string, d Date, _ time.Duration, offsets []int, _ []Block, _ time.Time) error {
	f.log("mark")
	f.loaded[d] = true
	f.marked = append(f.marked, offsets)
	return nil
}

func (f *fakeHolds) Unmark(_ context.Context, _ string, _ Date, offsets []int) error {
	f.log("unmark")
	if len(offsets) > 0 {
		f.freed = append(f.freed, offsets)
	}
	return nil
}

func (f *fakeHolds) Block(_ context.Context, _ string, _ Date, _ string, _, _ time.Time, offsets []int) error {
	f.log("block")
	if len(offsets) > 0 {
		f.freed = append(f.freed, offsets)
	}
	return nil
}

func (f *fakeHolds) Bitmap(context.Context, string, Date, time.Time) ([]byte, error) { return nil, nil }

func (f *fakeHolds) Peek(context.Context, string, Date, string) (*HoldRecord, error) {
	return f.claim, nil
}

func (f *fakeHolds) Ping(context.Context) error { return nil }

var fakeDay = Date{2030, time.January, 7}

func newFakeEngine(t *testing.T) (*Engine, *fakeRecords, *fakeHolds) {
	t.Helper()
	loc := Location{ID: "bad", Kind: KindPool, Name: "Bad", Timezone: "UTC", Capacity: 4, SlotMinutes: 30,
		BookingHorizonDays: 30, Opening: everyDay("08:00", "20:00")}
	svc := Service{ID: "ticket", LocationID: "bad", Name: "Ticket", DurationMinutes: 60, Payment: PayCounter, MaxUnits: 2}
	recs := &fakeRecords{locs: []Location{loc}, services: []Service{svc}}
	holds := &fakeHolds{loaded: map[Date]bool{}}
	e, err := NewEngine(context.Background(), recs, holds, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.Now = func() time.Time { return fakeDay.Midnight(time.UTC).Add(7 * time.Hour) }
	return e, recs, holds
}

// A day the hold store does not know is loaded from the record store, and
// the hold is tried again.
func TestPlaceHoldLoadsMissingDay(t *testing.T) {
	e, recs, holds := newFakeEngine(t)
	start := fakeDay.Midnight(time.UTC).Add(10 * time.Hour)
	recs.booked = []UnitCell{{CellStart: start, Unit: 1}, {CellStart: start.Add(30 * time.Minute), Unit: 7}}
	h, err := e.PlaceHold(context.Background(), "bad", "ticket", start, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"hold: not loaded", "mark", "hold"}; !slices.Equal(holds.calls, want) {
		t.Fatalf("calls %v, want %v", holds.calls, want)
	}
	// 10:00 is cell 20 of the day; unit 7 is beyond the capacity of 4.
	if len(holds.marked) != 1 || !slices.Equal(holds.marked[0], []int{20*4 + 1}) {
		t.Fatalf("marked %v", holds.marked)
	}
	if loc, d, ok := ParseHoldID(h.ID); !ok || loc != "bad" || d != fakeDay {
		t.Fatalf("hold id %q", h.ID)
	}
}

func TestBookOutcomes(t *testing.T) {
	start := fakeDay.Midnight(time.UTC).Add(10 * time.Hour)
	live := &HoldRecord{Service: "ticket", Start: start, End: start.Add(time.Hour), Units: []int{0, 2}}
	someone := Contact{Name: "Erika", Email: "erika@example.org"}
	tests := []struct {
		name     string
		claim    *HoldRecord
		holdUsed bool
		insert   []error
		want     error
		calls    []string
		attempts int
	}{
		{name: "booked", claim: live, calls: []string{"claim", "confirm"}, attempts: 1},
		{name: "code taken twice", claim: live, insert: []error{ErrCodeTaken, ErrCodeTaken}, calls: []string{"claim", "confirm"}, attempts: 3},
		{name: "hold gone, never booked", want: ErrHoldExpired, calls: []string{"claim"}},
		{name: "hold gone, booked before", holdUsed: true, want: ErrHoldUsed, calls: []string{"claim"}},
		{name: "hold booked meanwhile", claim: live, insert: []error{ErrHoldUsed}, want: ErrHoldUsed, calls: []string{"claim"}, attempts: 1},
		{name: "contact limit keeps the hold", claim: live, insert: []error{ErrContactLimit}, want: ErrContactLimit,
			calls: []string{"claim"}, attempts: 1},
		{name: "unit taken repairs the day", claim: live, insert: []error{ErrUnitTaken}, want: ErrSlotFull,
			calls: []string{"claim", "release force=true", "mark"}, attempts: 1},
		{name: "store down unclaims", claim: live, insert: []error{fmt.Errorf("%w: connection refused", ErrUnavailable)},
			want: ErrUnavailable, calls: []string{"claim", "unclaim"}, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, recs, holds := newFakeEngine(t)
			holds.claim, recs.holdUsed, recs.insert = tt.claim, tt.holdUsed, tt.insert
			id := newHoldID("bad", fakeDay)
			conf, err := e.Book(context.Background(), id, someone, BookOptions{})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (conf != nil) {
				t.Fatalf("book: %v %v, want %v", conf, err, tt.want)
			}
			if !slices.Equal(holds.calls, tt.calls) {
				t.Fatalf("hold store calls %v, want %v", holds.calls, tt.calls)
			}
			if len(recs.inserted) != tt.attempts {
				t.Fatalf("%d inserts, want %d", len(recs.inserted), tt.attempts)
			}
			if tt.attempts == 0 {
				return
			}
			nb := recs.inserted[len(recs.inserted)-1]
			// Two units of two 30-minute cells each.
			if len(nb.Cells) != 4 || nb.Cells[1] != (UnitCell{start.Add(30 * time.Minute), 0}) || nb.Cells[2] != (UnitCell{start, 2}) {
				t.Fatalf("cells %v", nb.Cells)
			}
			if len(nb.TokenHash) != 32 || len(nb.Limit.Hash) != 32 || nb.Limit.Day != fakeDay || nb.Booking.Status != StatusConfirmed {
				t.Fatalf("new booking %+v", nb)
			}
			if tt.attempts > 1 && recs.inserted[0].Booking.HoldID != id {
				t.Fatalf("retry lost the hold id")
			}
			if conf != nil && NormalizeBookingCode(conf.Booking.Code) != conf.Booking.Code {
				t.Fatalf("booking code %q", conf.Booking.Code)
			}
		})
	}
}

// recorder stands in for the payment flow's recorders.
type recorder struct {
	inserted  int
	cancelled int
}

func (r *recorder) InsertBooking(_ context.Context, nb *NewBooking) error {
	r.inserted++
	nb.Booking.ID = 99
	return nil
}

func (r *recorder) CancelBooking(context.Context, *Booking, time.Time) ([]UnitCell, error) {
	r.cancelled++
	return nil, nil
}

func TestRecordersReplaceTheRecordStore(t *testing.T) {
	e, recs, holds := newFakeEngine(t)
	start := fakeDay.Midnight(time.UTC).Add(10 * time.Hour)
	holds.claim = &HoldRecord{Service: "ticket", Start: start, End: start.Add(time.Hour), Units: []int{1}}
	rec := &recorder{}
	ctx := context.Background()
	conf, err := e.Book(ctx, newHoldID("bad", fakeDay), Contact{Name: "E", Email: "e@example.org"},
		BookOptions{Status: StatusPendingPayment, Recorder: rec})
	if err != nil || conf.Booking.ID != 99 || conf.Booking.Status != StatusPendingPayment || rec.inserted != 1 || len(recs.inserted) != 0 {
		t.Fatalf("book with a recorder: %+v %v", conf, err)
	}

	token := "manage-token"
	hash := sha256Sum(token)
	b := &Booking{ID: 7, Code: "ABCD2345", LocationID: "bad", ServiceID: "ticket", Start: start, End: start.Add(time.Hour),
		Units: []int{1}, Status: StatusConfirmed}
	recs.byCode = map[string]*Booking{b.Code: b}
	recs.hashes = map[string][]byte{b.Code: hash}
	recs.freed = []UnitCell{{CellStart: start, Unit: 1}, {CellStart: start.Add(30 * time.Minute), Unit: 1}}
	if _, err := e.Cancel(ctx, b.Code, "wrong", nil); !errors.Is(err, ErrBookingNotFound) {
		t.Fatalf("cancel with a wrong token: %v", err)
	}
	if got, err := e.Cancel(ctx, b.Code, token, rec); err != nil || got.Status != StatusCancelled || rec.cancelled != 1 || recs.cancels != 0 {
		t.Fatalf("cancel with a recorder: %+v %v", got, err)
	}
	if got, err := e.Cancel(ctx, b.Code, token, nil); err != nil || got.Status != StatusCancelled || recs.cancels != 1 {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	// Cells 20 and 21, unit 1, capacity 4.
	if len(holds.freed) != 1 || !slices.Equal(holds.freed[0], []int{81, 85}) {
		t.Fatalf("freed %v", holds.freed)
	}
}

func sha256Sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func (f *fakeRecords) ManageSecret(context.Context, int64) (string, []byte, error) {
	return "", nil, ErrBookingNotFound
}

func (f *fakeRecords) ActivateBooking(context.Context, int64, time.Time) (*Booking, error) {
	return nil, ErrNotActivatable
}

func (f *fakeRecords) ExpireActivations(context.Context, time.Time, int) ([]*Booking, error) {
	return nil, nil
}

func (f *fakeRecords) RescheduleBooking(context.Context, *Reschedule) ([]UnitCell, error) {
	return nil, ErrNotReschedulable
}

func (f *fakeRecords) RequestManageLink(context.Context, int64, string, time.Time) error { return nil }

func (f *fakeHolds) Bitmaps(_ context.Context, _ string, days []Date, _ time.Time) ([][]byte, []int, error) {
	var missing []int
	for i, d := range days {
		if !f.loaded[d] {
			missing = append(missing, i)
		}
	}
	return make([][]byte, len(days)), missing, nil
}
