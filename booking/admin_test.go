package booking_test

import (
	"bytes"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

func TestWriteCityReadsBack(t *testing.T) {
	f, err := os.Open("../server/democity.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	locs, services, err := booking.ParseCity(f)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := booking.WriteCity(&buf, locs, services); err != nil {
		t.Fatal(err)
	}
	locs2, services2, err := booking.ParseCity(&buf)
	if err != nil {
		t.Fatalf("the written city file does not parse: %v\n%s", err, buf.String())
	}
	for i := range locs {
		// The file groups weekdays with the same hours; compare as sets.
		if len(locs[i].Opening) != len(locs2[i].Opening) {
			t.Errorf("location %s: %d opening rules, read back %d", locs[i].ID, len(locs[i].Opening), len(locs2[i].Opening))
		}
		locs[i].Opening, locs2[i].Opening = nil, nil
	}
	if !reflect.DeepEqual(locs, locs2) {
		t.Errorf("locations differ after a round trip:\n%+v\n%+v", locs, locs2)
	}
	if !reflect.DeepEqual(services, services2) {
		t.Errorf("services differ after a round trip:\n%+v\n%+v", services, services2)
	}
}

func TestCheckLocationIDRefusesReservedPaths(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want error
	}{
		{"buergeramt-mitte", nil},
		{"intern", booking.ErrIDReserved},
		{"display", booking.ErrIDReserved},
		{"barrierefreiheit", booking.ErrIDReserved},
		{"Intern", booking.ErrIDInvalid},
		{"-x", booking.ErrIDInvalid},
		{"", booking.ErrIDInvalid},
		{"a b", booking.ErrIDInvalid},
	} {
		if got := booking.CheckLocationID(tc.id); got != tc.want {
			t.Errorf("CheckLocationID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestConflictsWith(t *testing.T) {
	tz, _ := time.LoadLocation("Europe/Berlin")
	base := booking.Location{ID: "amt", Kind: booking.KindOffice, Name: "Amt", Timezone: "Europe/Berlin", Capacity: 3,
		SlotMinutes: 10, BookingHorizonDays: 30,
		Opening: []booking.OpeningRule{{Weekday: time.Monday, Opens: 8 * 60, Closes: 12 * 60}}}
	services := []booking.Service{{ID: "pass", LocationID: "amt", DurationMinutes: 20}, {ID: "ausweis", LocationID: "amt", DurationMinutes: 20}}
	monday := time.Date(2030, 1, 7, 9, 0, 0, 0, tz)
	at := func(id int64, svc string, start time.Time, unit int) booking.Booking {
		return booking.Booking{ID: id, Code: "C" + string(rune('A'+id)), ServiceID: svc, Status: booking.StatusConfirmed,
			Start: start, End: start.Add(20 * time.Minute), Units: []int{unit}}
	}
	bookings := []booking.Booking{at(1, "pass", monday, 0), at(2, "ausweis", monday.Add(2*time.Hour+40*time.Minute), 2)}
	cancelled := at(3, "pass", monday, 1)
	cancelled.Status = booking.StatusCancelled
	bookings = append(bookings, cancelled)

	for _, tc := range []struct {
		name    string
		edit    func(l *booking.Location) []booking.Service
		want    []int64
		wantWhy string
	}{
		{"unchanged", func(*booking.Location) []booking.Service { return services }, nil, ""},
		{"day closed", func(l *booking.Location) []booking.Service {
			l.Closures = []booking.Closure{{Day: booking.DateOf(monday), Reason: "Betriebsausflug"}}
			return services
		}, []int64{1, 2}, booking.ConflictClosed},
		{"hours cut", func(l *booking.Location) []booking.Service {
			l.Opening = []booking.OpeningRule{{Weekday: time.Monday, Opens: 8 * 60, Closes: 11 * 60}}
			return services
		}, []int64{2}, booking.ConflictClosed},
		{"hours moved to another day", func(l *booking.Location) []booking.Service {
			l.Opening = []booking.OpeningRule{{Weekday: time.Tuesday, Opens: 8 * 60, Closes: 12 * 60}}
			return services
		}, []int64{1, 2}, booking.ConflictClosed},
		{"capacity cut", func(l *booking.Location) []booking.Service { l.Capacity = 2; return services }, []int64{2}, booking.ConflictCapacity},
		{"capacity raised", func(l *booking.Location) []booking.Service { l.Capacity = 5; return services }, nil, ""},
		{"service removed", func(*booking.Location) []booking.Service { return services[:1] }, []int64{2}, booking.ConflictService},
		{"grid changed", func(l *booking.Location) []booking.Service { l.SlotMinutes = 30; return services }, []int64{1, 2}, booking.ConflictGrid},
		{"hours extended", func(l *booking.Location) []booking.Service {
			l.Opening = []booking.OpeningRule{{Weekday: time.Monday, Opens: 7 * 60, Closes: 18 * 60}}
			return services
		}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := base
			svcs := tc.edit(&l)
			got, err := booking.ConflictsWith(&l, svcs, bookings)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, c := range got {
				ids = append(ids, c.Booking.ID)
				if c.Reason != tc.wantWhy {
					t.Errorf("booking %d: reason %q, want %q", c.Booking.ID, c.Reason, tc.wantWhy)
				}
			}
			if !reflect.DeepEqual(ids, tc.want) {
				t.Errorf("conflicts %v, want %v", ids, tc.want)
			}
		})
	}
}
