package booking

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func releaseLocation(t *testing.T, r Release, horizon, lead int) (*Location, *Plan, *time.Location) {
	t.Helper()
	tz, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	var rules []OpeningRule
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		rules = append(rules, OpeningRule{Weekday: wd, Opens: 0, Closes: 24 * 60})
	}
	l := &Location{ID: "amt", Kind: KindOffice, Timezone: "Europe/Berlin", Capacity: 1, SlotMinutes: 30,
		BookingHorizonDays: horizon, LeadMinutes: lead, Opening: rules, Release: r}
	if err := l.Validate(nil); err != nil {
		t.Fatal(err)
	}
	s := &Service{ID: "s", DurationMinutes: 30, MaxUnits: 1}
	return l, &Plan{Items: []Item{{"s", 1}}, Services: []*Service{s}, Minutes: 30, Units: 1, StepMinutes: 30}, tz
}

func clock(t *testing.T, s string) ClockTime {
	t.Helper()
	c, err := ParseClockTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The release instant of a day and the window's last day on either side
// of it, on ordinary days and on both DST switch days in Berlin: a
// release time in the spring gap is shifted by the gap (02:30 → 03:30
// CEST), one in the repeated autumn hour is its first occurrence.
func TestReleaseBoundaries(t *testing.T) {
	tests := []struct {
		name    string
		release Release
		horizon int
		day     Date      // a day to be released
		at      time.Time // its release instant, UTC
	}{
		{"daily 08:00 in winter", Release{Every: ReleaseDaily, At: clock(t, "08:00"), DaysAhead: 14}, 60,
			Date{2026, time.December, 15}, time.Date(2026, time.December, 1, 7, 0, 0, 0, time.UTC)},
		{"daily 08:00 in summer", Release{Every: ReleaseDaily, At: clock(t, "08:00"), DaysAhead: 14}, 60,
			Date{2027, time.July, 15}, time.Date(2027, time.July, 1, 6, 0, 0, 0, time.UTC)},
		{"daily 08:00 on the spring day", Release{Every: ReleaseDaily, At: clock(t, "08:00"), DaysAhead: 14}, 60,
			Date{2027, time.April, 11}, time.Date(2027, time.March, 28, 6, 0, 0, 0, time.UTC)},
		{"daily 02:30 on the spring day (in the gap)", Release{Every: ReleaseDaily, At: clock(t, "02:30"), DaysAhead: 14}, 60,
			Date{2027, time.April, 11}, time.Date(2027, time.March, 28, 1, 30, 0, 0, time.UTC)},
		{"daily 02:30 on the autumn day (twice)", Release{Every: ReleaseDaily, At: clock(t, "02:30"), DaysAhead: 14}, 60,
			Date{2026, time.November, 8}, time.Date(2026, time.October, 25, 0, 30, 0, 0, time.UTC)},
		{"daily 03:30 on the autumn day (after it)", Release{Every: ReleaseDaily, At: clock(t, "03:30"), DaysAhead: 14}, 60,
			Date{2026, time.November, 8}, time.Date(2026, time.October, 25, 2, 30, 0, 0, time.UTC)},
		{"daily 00:00, the day itself", Release{Every: ReleaseDaily, At: 0, DaysAhead: 0}, 60,
			Date{2027, time.March, 28}, time.Date(2027, time.March, 27, 23, 0, 0, 0, time.UTC)},
		{"monthly on the 1st at 08:00", Release{Every: ReleaseMonthly, At: clock(t, "08:00"), DayOfMonth: 1}, 90,
			Date{2027, time.January, 31}, time.Date(2026, time.December, 1, 7, 0, 0, 0, time.UTC)},
		{"monthly, across the year", Release{Every: ReleaseMonthly, At: clock(t, "08:00"), DayOfMonth: 15}, 90,
			Date{2027, time.January, 1}, time.Date(2026, time.December, 15, 7, 0, 0, 0, time.UTC)},
		{"monthly 02:30 on the spring day", Release{Every: ReleaseMonthly, At: clock(t, "02:30"), DayOfMonth: 28}, 90,
			Date{2027, time.April, 20}, time.Date(2027, time.March, 28, 1, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, p, tz := releaseLocation(t, tt.release, tt.horizon, 0)
			at, ok := l.ReleaseOf(tt.day, tz)
			if !ok || !at.Equal(tt.at) {
				t.Fatalf("ReleaseOf(%s) = %s, %v; want %s", tt.day, at.UTC(), ok, tt.at)
			}
			before, after := tt.at.Add(-time.Millisecond), tt.at
			if w := l.window(tz, before); !w.Last.Before(tt.day) {
				t.Errorf("a moment before the release the window ends %s, want before %s", w.Last, tt.day)
			}
			if w := l.window(tz, after); w.Last.Before(tt.day) {
				t.Errorf("at the release the window ends %s, want %s or later", w.Last, tt.day)
			}
			start := tt.day.Midnight(tz).Add(12 * time.Hour)
			if _, err := l.checkStart(p, tz, before, start); !errors.Is(err, ErrNotReleased) {
				t.Errorf("a hold before the release: %v, want ErrNotReleased", err)
			}
			if _, err := l.checkStart(p, tz, after, start); err != nil {
				t.Errorf("a hold at the release: %v", err)
			}
			if len(l.bookableStarts(p, tt.day, tz, before)) != 0 || len(l.bookableStarts(p, tt.day, tz, after)) == 0 {
				t.Error("bookableStarts does not follow the release")
			}
		})
	}
}

// The horizon and the lead time still bound a released day.
func TestReleaseWithinHorizonAndLead(t *testing.T) {
	l, p, tz := releaseLocation(t, Release{Every: ReleaseMonthly, At: clock(t, "08:00"), DayOfMonth: 1}, 40, 120)
	now := time.Date(2026, time.December, 1, 8, 0, 0, 0, tz)
	w := l.window(tz, now)
	if want := (Date{2027, time.January, 10}); w.Last != want || w.Horizon != want {
		t.Fatalf("window ends %s (horizon %s), want the horizon's %s", w.Last, w.Horizon, want)
	}
	if _, err := l.checkStart(p, tz, now, time.Date(2027, time.January, 11, 9, 0, 0, 0, tz)); !errors.Is(err, ErrSlotInvalid) {
		t.Errorf("beyond the horizon: %v, want ErrSlotInvalid", err)
	}
	if _, err := l.checkStart(p, tz, now, now.Add(90*time.Minute)); !errors.Is(err, ErrSlotInvalid) {
		t.Errorf("inside the lead time: %v, want ErrSlotInvalid", err)
	}
	if _, err := l.checkStart(p, tz, now, now.Add(2*time.Hour)); err != nil {
		t.Errorf("right after the lead time: %v", err)
	}
	// Before the release the month after is not bookable, this one is.
	before := now.Add(-time.Minute)
	if w := l.window(tz, before); w.Last != (Date{2026, time.December, 31}) {
		t.Errorf("before the release the window ends %s", w.Last)
	}
}

func TestNextRelease(t *testing.T) {
	tests := []struct {
		name     string
		release  Release
		horizon  int
		now      time.Time
		at       time.Time
		first    Date
		last     Date
		numDays  int
		released bool
	}{
		{"daily, later today", Release{Every: ReleaseDaily, At: clock(t, "08:00"), DaysAhead: 14}, 60,
			time.Date(2026, time.December, 1, 6, 59, 0, 0, time.UTC), time.Date(2026, time.December, 1, 7, 0, 0, 0, time.UTC),
			Date{2026, time.December, 15}, Date{2026, time.December, 15}, 1, true},
		{"daily, at the release it is tomorrow's", Release{Every: ReleaseDaily, At: clock(t, "08:00"), DaysAhead: 14}, 60,
			time.Date(2026, time.December, 1, 7, 0, 0, 0, time.UTC), time.Date(2026, time.December, 2, 7, 0, 0, 0, time.UTC),
			Date{2026, time.December, 16}, Date{2026, time.December, 16}, 1, true},
		{"daily 02:30 into the spring day", Release{Every: ReleaseDaily, At: clock(t, "02:30"), DaysAhead: 7}, 60,
			time.Date(2027, time.March, 27, 12, 0, 0, 0, time.UTC), time.Date(2027, time.March, 28, 1, 30, 0, 0, time.UTC),
			Date{2027, time.April, 4}, Date{2027, time.April, 4}, 1, true},
		{"monthly, the whole next month", Release{Every: ReleaseMonthly, At: clock(t, "08:00"), DayOfMonth: 1}, 90,
			time.Date(2026, time.November, 20, 12, 0, 0, 0, time.UTC), time.Date(2026, time.December, 1, 7, 0, 0, 0, time.UTC),
			Date{2027, time.January, 1}, Date{2027, time.January, 31}, 31, true},
		{"monthly, clipped to the horizon", Release{Every: ReleaseMonthly, At: clock(t, "08:00"), DayOfMonth: 1}, 40,
			time.Date(2026, time.November, 20, 12, 0, 0, 0, time.UTC), time.Date(2026, time.December, 1, 7, 0, 0, 0, time.UTC),
			Date{2027, time.January, 1}, Date{2027, time.January, 10}, 10, true},
		{"rolling horizon", Release{}, 60, time.Date(2026, time.November, 20, 12, 0, 0, 0, time.UTC), time.Time{}, Date{}, Date{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _, tz := releaseLocation(t, tt.release, tt.horizon, 0)
			at, days, ok := l.NextRelease(tt.now, tz)
			if ok != tt.released {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if !at.Equal(tt.at) || len(days) != tt.numDays || days[0] != tt.first || days[len(days)-1] != tt.last {
				t.Fatalf("NextRelease = %s, %d days %v…; want %s, %d days %s…%s", at.UTC(), len(days), days[0], tt.at, tt.numDays, tt.first, tt.last)
			}
			// The days it names open exactly then.
			for _, d := range days {
				if r, _ := l.ReleaseOf(d, tz); !r.Equal(at) {
					t.Errorf("%s opens %s, not at the next release", d, r)
				}
			}
		})
	}
}

func TestReleaseValidation(t *testing.T) {
	tests := []struct {
		release Release
		horizon int
		want    string
	}{
		{Release{Every: ReleaseDaily, At: 8 * 60, DaysAhead: 61}, 60, "days_ahead"},
		{Release{Every: ReleaseMonthly, At: 8 * 60, DayOfMonth: 29}, 60, "day_of_month"},
		{Release{Every: "week", At: 8 * 60}, 60, "neither"},
		{Release{Every: ReleaseDaily, At: 24 * 60}, 60, "before 24:00"},
	}
	for _, tt := range tests {
		l := &Location{ID: "x", Kind: KindOffice, Timezone: "Europe/Berlin", Capacity: 1, SlotMinutes: 5, BookingHorizonDays: tt.horizon, Release: tt.release}
		if err := l.Validate(nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want an error about %s", tt.release, err, tt.want)
		}
	}
}

func TestCityFileRelease(t *testing.T) {
	const city = `{"locations": [
	  {"id": "a", "kind": "office", "name": "A", "timezone": "Europe/Berlin", "capacity": 1, "slot_minutes": 5, "booking_horizon_days": 60,
	   "release": {"every": "day", "at": "08:00", "days_ahead": 14}, "cancel_block_minutes": 0},
	  {"id": "b", "kind": "office", "name": "B", "timezone": "Europe/Berlin", "capacity": 1, "slot_minutes": 5,
	   "release": {"every": "month", "at": "07:30", "day_of_month": 1}}]}`
	locs, _, err := ParseCity(strings.NewReader(city))
	if err != nil {
		t.Fatal(err)
	}
	if got := locs[0].Release; got != (Release{Every: ReleaseDaily, At: 8 * 60, DaysAhead: 14}) || locs[0].CancelBlockMinutes != 0 {
		t.Errorf("a: %+v, block %d", got, locs[0].CancelBlockMinutes)
	}
	if got := locs[1].Release; got != (Release{Every: ReleaseMonthly, At: 7*60 + 30, DayOfMonth: 1}) || locs[1].CancelBlockMinutes != DefaultCancelBlockMinutes {
		t.Errorf("b: %+v, block %d", got, locs[1].CancelBlockMinutes)
	}
	if _, _, err := ParseCity(strings.NewReader(`{"locations": [{"id": "a", "kind": "office", "name": "A", "timezone": "Europe/Berlin", "capacity": 1, "slot_minutes": 5, "release": {"at": "08:00"}}]}`)); err == nil {
		t.Error("a release without every was accepted")
	}
}
