package booking

import (
	"testing"
	"time"
)

func TestHolidaysRLP(t *testing.T) {
	tests := []struct {
		day  string
		name string
	}{
		{"2026-04-03", "Karfreitag"},
		{"2026-04-06", "Ostermontag"},
		{"2026-05-14", "Christi Himmelfahrt"},
		{"2026-05-25", "Pfingstmontag"},
		{"2026-06-04", "Fronleichnam"},
		{"2025-06-19", "Fronleichnam"},
		{"2027-05-27", "Fronleichnam"},
		{"2024-05-30", "Fronleichnam"},
		{"2026-11-01", "Allerheiligen"},
		{"2026-10-03", "Tag der Deutschen Einheit"},
		{"2026-12-26", "2. Weihnachtstag"},
	}
	for _, tt := range tests {
		d, _ := ParseDate(tt.day)
		h, ok := HolidayRLP(d)
		if !ok || h.Name != tt.name {
			t.Errorf("%s: got %q, %v; want %q", tt.day, h.Name, ok, tt.name)
		}
	}
	for _, day := range []string{"2026-06-03", "2026-10-31", "2026-08-15", "2026-01-06"} {
		d, _ := ParseDate(day)
		if h, ok := HolidayRLP(d); ok {
			t.Errorf("%s is no holiday in Rhineland-Palatinate, got %q", day, h.Name)
		}
	}
	if n := len(HolidaysRLP(2026)); n != 11 {
		t.Errorf("2026 has %d holidays, want 11", n)
	}
}

func TestEasterSunday(t *testing.T) {
	for year, want := range map[int]string{2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2038: "2038-04-25"} {
		if got := easterSunday(year).String(); got != want {
			t.Errorf("Easter %d = %s, want %s", year, got, want)
		}
	}
}

func everyDay(opens, closes string) []OpeningRule {
	o, _ := ParseClockTime(opens)
	c, _ := ParseClockTime(closes)
	var rules []OpeningRule
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		rules = append(rules, OpeningRule{Weekday: wd, Opens: o, Closes: c})
	}
	return rules
}

func TestStartsOnDSTSwitchDays(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	pool := &Location{ID: "pool", Kind: KindPool, Timezone: "Europe/Berlin", Capacity: 150, SlotMinutes: 90, Opening: everyDay("07:00", "21:00")}
	ticket := &Service{ID: "t", DurationMinutes: 90}
	night := &Location{ID: "night", Kind: KindOffice, Timezone: "Europe/Berlin", Capacity: 1, SlotMinutes: 60, Opening: everyDay("00:00", "06:00")}
	hour := &Service{ID: "h", DurationMinutes: 60}

	tests := []struct {
		name      string
		loc       *Location
		svc       *Service
		day       string
		n         int
		firstUTC  string
		lastLocal string
	}{
		{"pool before spring switch", pool, ticket, "2026-03-28", 9, "2026-03-28T06:00:00Z", "19:00"},
		{"pool on spring switch", pool, ticket, "2026-03-29", 9, "2026-03-29T05:00:00Z", "19:00"},
		{"pool on autumn switch", pool, ticket, "2026-10-25", 9, "2026-10-25T06:00:00Z", "19:00"},
		// 02:00-03:00 does not exist on 29 March: five hours of starts.
		{"night on spring switch", night, hour, "2026-03-29", 5, "2026-03-28T23:00:00Z", "05:00"},
		// 02:00-03:00 happens twice on 25 October: seven hours of starts.
		{"night on autumn switch", night, hour, "2026-10-25", 7, "2026-10-24T22:00:00Z", "05:00"},
		{"night on a normal day", night, hour, "2026-06-01", 6, "2026-05-31T22:00:00Z", "05:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := ParseDate(tt.day)
			starts := tt.loc.Starts(tt.svc, d, berlin)
			if len(starts) != tt.n {
				t.Fatalf("%d starts, want %d: %v", len(starts), tt.n, starts)
			}
			if got := starts[0].UTC().Format(time.RFC3339); got != tt.firstUTC {
				t.Errorf("first start %s, want %s", got, tt.firstUTC)
			}
			if got := starts[len(starts)-1].In(berlin).Format("15:04"); got != tt.lastLocal {
				t.Errorf("last start %s local, want %s", got, tt.lastLocal)
			}
			seen := map[int]bool{}
			for _, s := range starts {
				c := tt.loc.cell(d, berlin, s)
				if seen[c] {
					t.Errorf("two starts share cell %d", c)
				}
				seen[c] = true
			}
		})
	}
}

func TestOpenPeriodsHolidaysAndClosures(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	office := &Location{ID: "o", Kind: KindOffice, Timezone: "Europe/Berlin", Capacity: 4, SlotMinutes: 5,
		ClosedOnHolidays: true, Opening: everyDay("08:00", "12:00"),
		Closures: []Closure{{Day: Date{2026, time.December, 24}, Reason: "Heiligabend"}}}
	pool := *office
	pool.ClosedOnHolidays = false
	pool.Closures = nil
	tests := []struct {
		loc  *Location
		day  string
		open bool
	}{
		{office, "2026-06-04", false}, // Fronleichnam
		{office, "2026-06-03", true},
		{office, "2026-12-24", false}, // closure
		{&pool, "2026-06-04", true},
	}
	for _, tt := range tests {
		d, _ := ParseDate(tt.day)
		if got := len(tt.loc.OpenPeriods(d, berlin)) > 0; got != tt.open {
			t.Errorf("%s %s open = %v, want %v", tt.loc.ID, tt.day, got, tt.open)
		}
	}
}

func TestBookingCodes(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		c := NewBookingCode()
		if len(c) != 8 || NormalizeBookingCode(c) != c {
			t.Fatalf("bad code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 999 {
		t.Errorf("codes repeat: %d distinct of 1000", len(seen))
	}
	for in, want := range map[string]string{"abcd-efgh": "ABCDEFGH", "0o1i-lL23": "00111123", "ABCDEFG": "", "ABCDEFGU": ""} {
		if got := NormalizeBookingCode(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHoldID(t *testing.T) {
	d := Date{2026, time.November, 24}
	id := newHoldID("stadtbad", d)
	loc, got, ok := ParseHoldID(id)
	if !ok || loc != "stadtbad" || got != d {
		t.Fatalf("parse(%q) = %q %v %v", id, loc, got, ok)
	}
	for _, bad := range []string{"", "x", "a.b.c", "stadtbad.20261324.0123456789ABCDEF", "stadtbad.2026112.0123456789ABCDEF"} {
		if _, _, ok := ParseHoldID(bad); ok {
			t.Errorf("parse(%q) ok", bad)
		}
	}
}

func TestNextOpening(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(day, clock string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", day+" "+clock, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	rule := func(wd time.Weekday, opens, closes string) OpeningRule {
		o, _ := ParseClockTime(opens)
		c, _ := ParseClockTime(closes)
		return OpeningRule{Weekday: wd, Opens: o, Closes: c}
	}
	office := &Location{ID: "amt", ClosedOnHolidays: true}
	for wd := time.Monday; wd <= time.Friday; wd++ {
		office.Opening = append(office.Opening, rule(wd, "08:00", "12:00"))
	}
	office.Opening = append(office.Opening, rule(time.Thursday, "14:00", "18:00"))
	closed, _ := ParseDate("2030-01-09")
	office.Closures = []Closure{{Day: closed}}
	tests := []struct {
		name string
		now  time.Time
		open bool
		next time.Time
	}{
		{"before opening", at("2030-01-07", "07:30"), false, at("2030-01-07", "08:00")},
		{"at opening", at("2030-01-07", "08:00"), true, time.Time{}},
		{"open", at("2030-01-07", "11:59"), true, time.Time{}},
		{"at closing", at("2030-01-07", "12:00"), false, at("2030-01-08", "08:00")},
		{"over a closure", at("2030-01-08", "13:00"), false, at("2030-01-10", "08:00")},
		{"Thursday lunch", at("2030-01-10", "12:30"), false, at("2030-01-10", "14:00")},
		{"Friday evening", at("2030-01-11", "18:00"), false, at("2030-01-14", "08:00")},
		{"before a holiday weekend", at("2030-04-18", "19:00"), false, at("2030-04-23", "08:00")}, // Karfreitag, Ostermontag
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open, next := office.NextOpening(tt.now, berlin)
			if open != tt.open || !next.Equal(tt.next) {
				t.Fatalf("got %v %v, want %v %v", open, next, tt.open, tt.next)
			}
		})
	}
	if open, next := (&Location{ID: "never"}).NextOpening(at("2030-01-07", "09:00"), berlin); open || !next.IsZero() {
		t.Fatalf("never open: %v %v", open, next)
	}
}
