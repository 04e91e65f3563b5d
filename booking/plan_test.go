package booking

import (
	"context"
	"errors"
	"testing"
	"time"
)

// For one service and no lead time, bookableStarts is exactly Starts
// within the horizon, DST switch days included: the single-service
// starts did not change.
func TestBookableStartsOfOneServiceAreItsStarts(t *testing.T) {
	tz, _ := time.LoadLocation("Europe/Berlin")
	opens, _ := ParseClockTime("00:00")
	closes, _ := ParseClockTime("24:00")
	var rules []OpeningRule
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		rules = append(rules, OpeningRule{Weekday: wd, Opens: opens, Closes: closes})
	}
	l := &Location{ID: "x", Kind: KindOffice, Capacity: 1, SlotMinutes: 30, BookingHorizonDays: 400, Opening: rules, Timezone: "Europe/Berlin"}
	s := &Service{ID: "s", DurationMinutes: 60, MaxUnits: 1}
	p := &Plan{Items: []Item{{"s", 1}}, Services: []*Service{s}, Minutes: 60, Units: 1, StepMinutes: 60}
	now := time.Date(2030, time.March, 1, 0, 0, 0, 0, tz).Add(-time.Second)
	for _, day := range []Date{{2030, time.March, 31}, {2030, time.October, 27}, {2030, time.June, 1}} {
		want, got := l.Starts(s, day, tz), l.bookableStarts(p, day, tz, now)
		if len(want) != len(got) {
			t.Fatalf("%s: %d bookable starts, %d starts", day, len(got), len(want))
		}
		for i := range want {
			if !want[i].Equal(got[i]) {
				t.Errorf("%s: start %d is %s, want %s", day, i, got[i], want[i])
			}
		}
	}
}

func TestWindowBoundaries(t *testing.T) {
	tz, _ := time.LoadLocation("Europe/Berlin")
	opens, _ := ParseClockTime("08:00")
	closes, _ := ParseClockTime("12:00")
	var rules []OpeningRule
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		rules = append(rules, OpeningRule{Weekday: wd, Opens: opens, Closes: closes})
	}
	l := &Location{ID: "x", Kind: KindOffice, Capacity: 1, SlotMinutes: 30, BookingHorizonDays: 2, LeadMinutes: 90, Opening: rules}
	s := &Service{ID: "s", DurationMinutes: 30, MaxUnits: 1}
	p := &Plan{Items: []Item{{"s", 1}}, Services: []*Service{s}, Minutes: 30, Units: 1, StepMinutes: 30}
	now := time.Date(2030, time.January, 7, 8, 15, 0, 0, tz)
	tests := []struct {
		at   time.Time
		want error
	}{
		{time.Date(2030, time.January, 7, 8, 0, 0, 0, tz), ErrSlotPast},
		{time.Date(2030, time.January, 7, 9, 30, 0, 0, tz), ErrSlotInvalid}, // inside the 90-minute lead
		{time.Date(2030, time.January, 7, 10, 0, 0, 0, tz), nil},
		{time.Date(2030, time.January, 7, 10, 10, 0, 0, tz), ErrSlotInvalid}, // off the grid
		{time.Date(2030, time.January, 9, 11, 30, 0, 0, tz), nil},            // the horizon's last day
		{time.Date(2030, time.January, 10, 8, 0, 0, 0, tz), ErrSlotInvalid},  // beyond it
		{time.Date(2030, time.January, 7, 12, 0, 0, 0, tz), ErrSlotInvalid},  // closing time
	}
	for _, tt := range tests {
		if _, err := l.checkStart(p, tz, now, tt.at); err != tt.want {
			t.Errorf("%s: %v, want %v", tt.at.Format("02.01. 15:04"), err, tt.want)
		}
	}
	// A multi-service plan steps by the grid and needs the whole length.
	p2 := &Plan{Minutes: 90, Units: 1, StepMinutes: 30}
	got := l.bookableStarts(p2, Date{2030, time.January, 8}, tz, now)
	if len(got) != 6 || got[5].Format("15:04") != "10:30" {
		t.Errorf("90-minute starts %v", got)
	}
}

func TestKeyTTLIsBounded(t *testing.T) {
	tz, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2030, time.January, 7, 12, 0, 0, 0, tz)
	if ttl := keyTTL(Date{9999, time.December, 31}, tz, now); ttl > maxKeyTTL {
		t.Errorf("TTL for the year 9999: %s", ttl)
	}
	if ttl := keyTTL(Date{2030, time.January, 8}, tz, now); ttl != 84*time.Hour {
		t.Errorf("TTL for tomorrow: %s, want 84h", ttl)
	}
}

// The choice rules, without stores.
func TestPlanRules(t *testing.T) {
	pool := Location{ID: "bad", Kind: KindPool, Timezone: "UTC", Capacity: 10, SlotMinutes: 30, BookingHorizonDays: 30}
	amt := Location{ID: "amt", Kind: KindOffice, Timezone: "UTC", Capacity: 2, SlotMinutes: 10, BookingHorizonDays: 30}
	svcs := []Service{
		{ID: "adult", LocationID: "bad", DurationMinutes: 90, Payment: PayOnline, MaxUnits: 4},
		{ID: "child", LocationID: "bad", DurationMinutes: 90, Payment: PayOnline, MaxUnits: 6},
		{ID: "sauna", LocationID: "bad", DurationMinutes: 180, Payment: PayOnline, MaxUnits: 4},
		{ID: "locker", LocationID: "bad", DurationMinutes: 90, Payment: PayCounter, MaxUnits: 4},
		{ID: "pass", LocationID: "amt", DurationMinutes: 30, Payment: PayCounter, MaxUnits: 1},
		{ID: "ausweis", LocationID: "amt", DurationMinutes: 20, Payment: PayCounter, MaxUnits: 1},
	}
	e, err := NewEngine(context.Background(), &fakeRecords{locs: []Location{pool, amt}, services: svcs}, &fakeHolds{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		loc                    string
		items                  []Item
		minutes, units, stepOf int
		err                    error
	}{
		{"bad", []Item{{"adult", 3}}, 90, 3, 90, nil},
		{"bad", []Item{{"adult", 2}, {"child", 4}}, 90, 6, 90, nil},
		{"bad", []Item{{"adult", 4}, {"child", 3}}, 0, 0, 0, ErrUnitsInvalid}, // 7 > 6, the largest max_units
		{"bad", []Item{{"adult", 5}}, 0, 0, 0, ErrUnitsInvalid},
		{"bad", []Item{{"adult", 1}, {"sauna", 1}}, 0, 0, 0, ErrChoiceInvalid},
		{"bad", []Item{{"adult", 1}, {"locker", 1}}, 0, 0, 0, ErrChoiceInvalid},
		{"bad", []Item{{"adult", 1}, {"adult", 1}}, 0, 0, 0, ErrChoiceInvalid},
		{"bad", []Item{{"pass", 1}}, 0, 0, 0, ErrServiceUnknown},
		{"amt", []Item{{"pass", 1}, {"ausweis", 1}}, 50, 1, 10, nil},
		{"amt", []Item{{"pass", 1}}, 30, 1, 30, nil},
		{"amt", []Item{}, 0, 0, 0, ErrChoiceInvalid},
	}
	for _, tt := range tests {
		l, _, _ := e.Location(tt.loc)
		p, err := e.plan(l, tt.items)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s %v: %v, want %v", tt.loc, tt.items, err, tt.err)
			continue
		}
		if err == nil && (p.Minutes != tt.minutes || p.Units != tt.units || p.StepMinutes != tt.stepOf) {
			t.Errorf("%s %v: %d minutes, %d units, step %d", tt.loc, tt.items, p.Minutes, p.Units, p.StepMinutes)
		}
	}
}
