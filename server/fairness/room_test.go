package fairness

import (
	"strings"
	"testing"
	"time"
)

var roomNow = time.Date(2030, time.March, 4, 7, 0, 0, 0, time.UTC)

func TestReleasesNextRelease(t *testing.T) {
	a, b := roomNow, roomNow.Add(24*time.Hour)
	tests := []struct {
		name string
		s    ReleaseSchedule
		at   time.Time
		want time.Time
		ok   bool
	}{
		{"none", Releases(nil), roomNow, time.Time{}, false},
		{"at the instant", Releases{b, a}, a, a, true},
		{"just after", Releases{b, a}, a.Add(time.Nanosecond), b, true},
		{"all past", Releases{a}, b, time.Time{}, false},
		{"earliest of several schedules", Schedules{Releases{b}, Releases{a}}, roomNow.Add(-time.Hour), a, true},
		{"schedules, none", Schedules{Releases{}, Releases{a}}, b, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.s.NextRelease("x", tt.at)
			if ok != tt.ok || !got.Equal(tt.want) {
				t.Fatalf("got %v %v, want %v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRoomEstimate(t *testing.T) {
	r := NewRoom(nil, []byte("k"))
	r.Rate = AdmissionRate{Rate: 10, Burst: 10}
	room := RoomID{Location: "x", Opens: roomNow}
	tests := []struct {
		name string
		now  time.Time
		e    Entry
		want time.Duration
	}{
		{"admitted", roomNow, Entry{Admitted: true}, 0},
		{"first in line", roomNow, Entry{Ahead: 0, Waiting: 5}, 0},
		{"30 ahead at 10/s", roomNow.Add(time.Minute), Entry{Ahead: 30, Waiting: 40}, 3 * time.Second},
		{"before the opening: the wait until it and half the room", roomNow.Add(-time.Minute), Entry{Ahead: -1, Waiting: 200}, time.Minute + 10*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.Now = func() time.Time { return tt.now }
			if got := r.Estimate(room, tt.e); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRoomActiveAroundReleases(t *testing.T) {
	r := NewRoom(nil, []byte("k"))
	r.Locations["stadtbad"] = true
	r.Schedule = Releases{roomNow}
	for _, c := range []struct {
		at     time.Time
		active bool
	}{
		{roomNow.Add(-r.Early - time.Second), false},
		{roomNow.Add(-r.Early), true},
		{roomNow, true},
		{roomNow.Add(r.After), true},
		{roomNow.Add(r.After + time.Second), false},
	} {
		r.Now = func() time.Time { return c.at }
		room, err := r.Active(t.Context(), "stadtbad")
		if (err == nil) != c.active || c.active && !room.Opens.Equal(roomNow) {
			t.Errorf("at %v: %+v %v, want active %v", c.at, room, err, c.active)
		}
		if _, err := r.Active(t.Context(), "elsewhere"); err == nil {
			t.Errorf("at %v: a room at a location without one", c.at)
		}
	}
}

// FuzzVerifyAdmission: no text from outside makes the check panic, and
// none but a token the room issued passes it. (The fuzzing workers are
// processes of their own that issue the seed again with another nonce,
// so the nonce is the one part a passing token may differ in.)
func FuzzVerifyAdmission(f *testing.F) {
	r := NewRoom(nil, []byte("admission key"))
	r.Now = func() time.Time { return roomNow }
	room := RoomID{Location: "stadtbad", Opens: roomNow}
	issued, _ := r.Admit(room, "browser-a", Entry{Admitted: true, Number: 7, AdmittedAt: roomNow})
	f.Add(issued, "browser-a")
	f.Add(issued, "browser-b")
	f.Add(strings.Replace(issued, ".7.", ".1.", 1), "browser-a")
	f.Add("a1.stadtbad.1.2.3.n.", "")
	f.Add("", "browser-a")
	f.Add(strings.Repeat(".", 300), "x")
	f.Fuzz(func(t *testing.T, token, session string) {
		a, err := r.VerifyAdmission("stadtbad", session, token)
		fixed := func(tok string) string { return strings.Join(strings.Split(tok, ".")[:5], ".") }
		if err == nil && (fixed(token) != fixed(issued) || session != "browser-a" || a.Number != 7 || a.Location != "stadtbad") {
			t.Fatalf("accepted %q for %q: %+v", token, session, a)
		}
	})
}
