package redis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// roomClock is a clock a test moves by hand.
type roomClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *roomClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *roomClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var release = time.Date(2030, time.March, 4, 7, 0, 0, 0, time.UTC) // 08:00 in Berlin

// newTestRoom is a room in front of one release of a fresh location.
func newTestRoom(t *testing.T, b servicetest.Backend) (*fairness.Room, *roomClock, fairness.RoomID) {
	t.Helper()
	store := New(servicetest.UniversalRedis(t, b))
	if err := store.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock := &roomClock{t: release.Add(-10 * time.Minute)}
	r := fairness.NewRoom(store, []byte("room key"))
	loc := servicetest.RandomID("loc-")
	r.Locations[loc] = true
	r.Schedule = fairness.Releases{release}
	r.Now = clock.now
	r.Rate = fairness.AdmissionRate{Rate: 1000, Burst: 1000}
	r.Keep = time.Hour // the tests' browsers ask rarely; the lapse tests say so
	id, err := r.Active(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	return r, clock, id
}

// admitAll lets everyone out of the room and returns the sessions in the
// order they were admitted.
func admitAll(t *testing.T, r *fairness.Room, room fairness.RoomID, sessions []string) []string {
	t.Helper()
	ctx := context.Background()
	// One status call after the opening admits up to the burst at once.
	if _, err := r.Status(ctx, room, sessions[0]); err != nil {
		t.Fatal(err)
	}
	order := make([]string, len(sessions))
	for _, s := range sessions {
		e, err := r.Status(ctx, room, s)
		if err != nil || !e.Admitted {
			t.Fatalf("%s: %+v %v", s, e, err)
		}
		if order[e.Number-1] != "" {
			t.Fatalf("admission number %d given twice", e.Number)
		}
		order[e.Number-1] = s
	}
	return order
}

// Those who arrive before the release get a random place, those after it
// join at the end in arrival order; the room is the same on every
// replica (here several clients) and on a Redis Cluster.
func TestRoomRandomThenFIFO(t *testing.T) {
	servicetest.OnEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r, clock, room := newTestRoom(t, b)
		ctx := context.Background()
		var early, late []string
		for i := 0; i < 40; i++ {
			s := fmt.Sprintf("early-%02d", i)
			clock.set(release.Add(-10*time.Minute + time.Duration(i)*time.Second))
			e, err := r.Join(ctx, room, s, "", "")
			if err != nil || !e.Early || e.Ahead != -1 || e.Arrival != int64(i+1) {
				t.Fatalf("early join %d: %+v %v", i, e, err)
			}
			early = append(early, s)
		}
		r.Rate = fairness.AdmissionRate{Rate: 0.001, Burst: 1} // nobody leaves while the late ones come
		for i := 0; i < 20; i++ {
			s := fmt.Sprintf("late-%02d", i)
			clock.set(release.Add(time.Duration(i) * time.Second))
			e, err := r.Join(ctx, room, s, "", "")
			if err != nil || e.Early {
				t.Fatalf("late join %d: %+v %v", i, e, err)
			}
			if want := int64(40 + i); e.Ahead != want && e.Ahead != want-1 {
				t.Fatalf("late join %d: %d ahead, want %d", i, e.Ahead, want)
			}
			late = append(late, s)
		}
		clock.set(release.Add(time.Minute))
		r.Rate = fairness.AdmissionRate{Rate: 1000, Burst: 1000}
		order := admitAll(t, r, room, append(append([]string{}, early...), late...))
		for i, s := range order[:40] {
			if !strings.HasPrefix(s, "early-") {
				t.Fatalf("place %d went to %s before every early arrival was admitted: %v", i+1, s, order)
			}
		}
		if got := strings.Join(order[40:], ","); got != strings.Join(late, ",") {
			t.Fatalf("late arrivals admitted in order %s, want arrival order", got)
		}
		if strings.Join(order[:40], ",") == strings.Join(early, ",") {
			t.Fatalf("early arrivals admitted in arrival order (chance 1 in 40!)")
		}
	})
}

// chiSquare is the statistic of observed counts against equal expected
// counts.
func chiSquare(counts []int, total int) float64 {
	exp := float64(total) / float64(len(counts))
	var x float64
	for _, c := range counts {
		d := float64(c) - exp
		x += d * d / exp
	}
	return x
}

var permutations4 = func() map[string]int {
	m := map[string]int{}
	var rec func(p []byte, rest string)
	rec = func(p []byte, rest string) {
		if rest == "" {
			m[string(p)] = len(m)
			return
		}
		for i := range rest {
			rec(append(p, rest[i]), rest[:i]+rest[i+1:])
		}
	}
	rec(nil, "0123")
	return m
}()

// The admission order of those who came before the release is a
// uniformly random permutation. Many rooms of four early arrivals each:
// the 24 orders must be equally frequent, and so must each arrival's
// position (a 4 × 4 table). Both statistics are compared with the
// chi-square quantile of 1 − 10⁻⁶ (23 and 9 degrees of freedom), so a
// correct room fails this test with probability below 2·10⁻⁶; the
// randomness is crypto/rand's, and nothing depends on timing.
func TestRoomEarlyOrderIsUniform(t *testing.T) {
	const runs = 2400 // 100 expected per order, 600 per position cell
	const crit23, crit9 = 70.55, 44.81
	store := New(servicetest.Redis(t))
	ctx := context.Background()
	if err := store.Preload(ctx); err != nil {
		t.Fatal(err)
	}
	clock := &roomClock{}
	r := fairness.NewRoom(store, []byte("k"))
	r.Now = clock.now
	r.Rate = fairness.AdmissionRate{Rate: 1000, Burst: 10}
	orders := make([]int, 24)
	pos := make([]int, 16)
	base := servicetest.RandomID("uniform-")
	sessions := []string{"s0", "s1", "s2", "s3"}
	for run := 0; run < runs; run++ {
		room := fairness.RoomID{Location: base, Opens: release.Add(time.Duration(run) * time.Minute)}
		clock.set(room.Opens.Add(-time.Minute))
		for _, s := range sessions {
			if _, err := r.Join(ctx, room, s, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		clock.set(room.Opens.Add(time.Second))
		order := admitAll(t, r, room, sessions)
		p := make([]byte, 4)
		for place, s := range order {
			arrival := s[1] - '0'
			p[place] = '0' + arrival
			pos[int(arrival)*4+place]++
		}
		orders[permutations4[string(p)]]++
	}
	x23 := chiSquare(orders, runs)
	if x23 > crit23 {
		t.Errorf("the 24 admission orders are not equally frequent: chi² %.1f > %.2f", x23, crit23)
	}
	// Positions: each row (arrival) and column (place) sums to runs, so
	// the cells are compared with runs/4 each; 9 degrees of freedom.
	var x float64
	for _, c := range pos {
		d := float64(c) - runs/4.0
		x += d * d / (runs / 4.0)
	}
	t.Logf("orders %v: chi² %.1f (23 df, limit %.2f); positions %v: chi² %.1f (9 df, limit %.2f)", orders, x23, crit23, pos, x, crit9)
	if x > crit9 {
		t.Errorf("arrivals do not take each place equally often: chi² %.1f > %.2f", x, crit9)
	}
}

// The statistic above does see an order that is not random.
func TestChiSquareSeesFIFO(t *testing.T) {
	orders := make([]int, 24)
	orders[0] = 2400
	if x := chiSquare(orders, 2400); x < 70.55 {
		t.Fatalf("FIFO gives chi² %.1f", x)
	}
}

// One place per browser session: joining again (a reload, a second tab)
// keeps the place; a browser away longer than Keep loses it and joins
// anew at the end.
func TestRoomOnePlacePerSession(t *testing.T) {
	servicetest.OnEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r, clock, room := newTestRoom(t, b)
		ctx := context.Background()
		clock.set(release.Add(time.Second))
		r.Rate = fairness.AdmissionRate{Rate: 0.0001, Burst: 1}
		for _, s := range []string{"a", "b", "c"} {
			if _, err := r.Join(ctx, room, s, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 3; i++ {
			again, err := r.Join(ctx, room, "b", "", "")
			if err != nil || again.Arrival != 2 || again.Waiting != 3 {
				t.Fatalf("join again: %+v %v", again, err)
			}
		}
		clock.set(release.Add(time.Second + r.Keep - time.Second))
		if e, err := r.Status(ctx, room, "c"); err != nil || e.Arrival != 3 {
			t.Fatalf("reload within keep: %+v %v", e, err)
		}
		clock.set(release.Add(time.Second + 2*r.Keep))
		if _, err := r.Status(ctx, room, "b"); !errors.Is(err, fairness.ErrNotInRoom) {
			t.Fatalf("away too long: %v", err)
		}
		e, err := r.Join(ctx, room, "b", "", "")
		if err != nil || e.Arrival != 4 {
			t.Fatalf("join after the place lapsed: %+v %v", e, err)
		}
		if _, err := r.Status(ctx, room, "never"); !errors.Is(err, fairness.ErrNotInRoom) {
			t.Fatalf("unknown session: %v", err)
		}
	})
}

// Admission runs at the configured rate, shared by every replica: the
// bucket lives in Redis.
func TestRoomAdmissionRate(t *testing.T) {
	r, clock, room := newTestRoom(t, servicetest.SingleRedis)
	ctx := context.Background()
	var sessions []string
	for i := 0; i < 30; i++ {
		s := fmt.Sprintf("s%d", i)
		if _, err := r.Join(ctx, room, s, "", ""); err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	r.Rate = fairness.AdmissionRate{Rate: 5, Burst: 5}
	admitted := func() int {
		n := 0
		for _, s := range sessions {
			e, err := r.Status(ctx, room, s)
			if err != nil {
				t.Fatal(err)
			}
			if e.Admitted {
				n++
			}
		}
		return n
	}
	clock.set(release.Add(-time.Second))
	if n := admitted(); n != 0 {
		t.Fatalf("%d admitted before the release", n)
	}
	for _, c := range []struct {
		at   time.Duration
		want int
	}{{0, 0}, {time.Second, 5}, {2 * time.Second, 10}, {2*time.Second + 500*time.Millisecond, 12}, {time.Minute, 17}} {
		clock.set(release.Add(c.at))
		if n := admitted(); n != c.want {
			t.Fatalf("at release%+v: %d admitted, want %d", c.at, n, c.want)
		}
	}
}

// Places whose browser stopped asking are skipped at the head of the
// queue without spending an admission.
func TestRoomSkipsLapsedPlaces(t *testing.T) {
	r, clock, room := newTestRoom(t, servicetest.SingleRedis)
	ctx := context.Background()
	clock.set(release.Add(time.Second))
	r.Rate = fairness.AdmissionRate{Rate: 0.0001, Burst: 1}
	for _, s := range []string{"gone", "here"} {
		if _, err := r.Join(ctx, room, s, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	// A join never admits; at this rate no status call does either.
	clock.set(release.Add(time.Second + r.Keep/2))
	if _, err := r.Status(ctx, room, "here"); err != nil {
		t.Fatal(err)
	}
	clock.set(release.Add(time.Second + r.Keep + r.Keep/4))
	r.Rate = fairness.AdmissionRate{Rate: 1000, Burst: 1}
	e, err := r.Status(ctx, room, "here")
	if err != nil || !e.Admitted || e.Number != 1 {
		t.Fatalf("here: %+v %v", e, err)
	}
}

// Admission tokens: required while the room is active, bound to the
// browser, the location and an expiry, and good for a bounded number of
// holds.
func TestAdmissionTokens(t *testing.T) {
	r, clock, room := newTestRoom(t, servicetest.SingleRedis)
	ctx := context.Background()
	loc := room.Location
	if _, err := r.Join(ctx, room, "alice", "", ""); err != nil {
		t.Fatal(err)
	}
	clock.set(release.Add(time.Second))
	e, err := r.Status(ctx, room, "alice")
	if err != nil || !e.Admitted {
		t.Fatalf("alice: %+v %v", e, err)
	}
	token, adm := r.Admit(room, "alice", e)
	if adm.Number != 1 || !adm.Expires.After(clock.now()) {
		t.Fatalf("admission %+v", adm)
	}
	forged := token[:strings.LastIndexByte(token, '.')+1] + strings.Repeat("A", 43)
	tampered := strings.Replace(token, ".1.", ".2.", 1)
	for _, c := range []struct {
		name, location, session, token string
		want                           error
	}{
		{"missing", loc, "alice", "", fairness.ErrAdmissionRequired},
		{"forged", loc, "alice", forged, fairness.ErrAdmissionInvalid},
		{"tampered", loc, "alice", tampered, fairness.ErrAdmissionInvalid},
		{"another browser", loc, "mallory", token, fairness.ErrAdmissionInvalid},
		{"another location", "elsewhere", "alice", token, fairness.ErrAdmissionInvalid},
		{"garbage", loc, "alice", "a1.x", fairness.ErrAdmissionInvalid},
		{"too long", loc, "alice", strings.Repeat("a.", 200), fairness.ErrAdmissionInvalid},
	} {
		if _, err := r.Gate(ctx, c.location, c.session, c.token); !errors.Is(err, c.want) && c.location == loc {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if _, err := r.VerifyAdmission(c.location, c.session, c.token); !errors.Is(err, c.want) {
			t.Errorf("%s: verify %v, want %v", c.name, err, c.want)
		}
	}
	// Good for HoldsPerAdmission (2) holds; a failed hold gives its count back.
	a, err := r.Gate(ctx, loc, "alice", token)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Refund(ctx, *a); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < r.HoldsPerAdmission; i++ {
		if _, err := r.Gate(ctx, loc, "alice", token); err != nil {
			t.Fatalf("hold %d: %v", i, err)
		}
	}
	if _, err := r.Gate(ctx, loc, "alice", token); !errors.Is(err, fairness.ErrAdmissionUsed) {
		t.Fatalf("beyond the holds of one admission: %v", err)
	}
	clock.set(adm.Expires)
	if _, err := r.Gate(ctx, loc, "alice", token); !errors.Is(err, fairness.ErrAdmissionInvalid) {
		t.Fatalf("expired: %v", err)
	}
	// An admission that expired unused lets the browser queue again, at the end.
	if e, err := r.Join(ctx, room, "alice", "", ""); err != nil || e.Admitted || e.Arrival != 2 {
		t.Fatalf("join after the admission expired: %+v %v", e, err)
	}
	// After the room closes, holds need no token.
	clock.set(release.Add(r.After + time.Second))
	if a, err := r.Gate(ctx, loc, "anyone", ""); err != nil || a != nil {
		t.Fatalf("room closed: %v %v", a, err)
	}
}

// Above AutoThreshold hold requests per second a room switches itself
// on, for every replica, with arrivals in order; it stays After.
func TestRoomAutomatic(t *testing.T) {
	servicetest.OnEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		store := New(servicetest.UniversalRedis(t, b))
		clock := &roomClock{t: release}
		r := fairness.NewRoom(store, []byte("k"))
		r.Now, r.AutoThreshold = clock.now, 5
		loc := servicetest.RandomID("auto-")
		ctx := context.Background()
		for i := 0; i < 5; i++ {
			if a, err := r.Gate(ctx, loc, "x", ""); err != nil || a != nil {
				t.Fatalf("request %d under the threshold: %v", i, err)
			}
		}
		if _, err := r.Gate(ctx, loc, "x", ""); !errors.Is(err, fairness.ErrAdmissionRequired) {
			t.Fatalf("over the threshold: %v", err)
		}
		room, err := r.Active(ctx, loc)
		if err != nil || !room.Opens.Equal(release) {
			t.Fatalf("automatic room %+v %v", room, err)
		}
		e, err := r.Join(ctx, room, "y", "", "")
		if err != nil || e.Early {
			t.Fatalf("join: %+v %v", e, err)
		}
	})
}

// Concurrent joins from many replicas give every session exactly one
// place and distinct arrival numbers.
func TestRoomConcurrentJoins(t *testing.T) {
	r, _, room := newTestRoom(t, servicetest.ClusterRedis)
	ctx := context.Background()
	var mu sync.Mutex
	arrivals := map[int64]string{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				s := fmt.Sprintf("s%d", i) // every goroutine joins the same 25
				e, err := r.Join(ctx, room, s, "", "")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, ok := arrivals[e.Arrival]; ok && prev != s {
					t.Errorf("arrival %d given to %s and %s", e.Arrival, prev, s)
				}
				arrivals[e.Arrival] = s
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	keys := make([]int, 0, len(arrivals))
	for k := range arrivals {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	if len(keys) != 25 || keys[0] != 1 || keys[24] != 25 {
		t.Fatalf("arrivals %v", keys)
	}
}

// A place costs a proof of work: none without one, one per solved
// challenge (a bot with a thousand sessions solves a thousand), and a
// challenge for holds does not buy a place. A session that has a place
// keeps it without solving again.
func TestRoomPlaceCostsProof(t *testing.T) {
	r, _, room := newTestRoom(t, servicetest.SingleRedis)
	ctx := context.Background()
	pow := fairness.NewChallenges(New(servicetest.Redis(t)), []byte("pow key"))
	pow.Difficulty = 6
	r.Proofs = pow
	if _, err := r.Join(ctx, room, "a", "", ""); !errors.Is(err, fairness.ErrChallengeRequired) {
		t.Fatalf("without a proof: %v", err)
	}
	hold := pow.Issue(room.Location)
	if _, err := r.Join(ctx, room, "a", hold.Challenge, fairness.Solve(hold.Challenge, hold.Difficulty)); !errors.Is(err, fairness.ErrChallengeInvalid) {
		t.Fatalf("with a hold's challenge: %v", err)
	}
	c := r.Challenge(room.Location)
	sol := fairness.Solve(c.Challenge, c.Difficulty)
	if _, err := r.Join(ctx, room, "a", c.Challenge, "1"+sol); !errors.Is(err, fairness.ErrChallengeInvalid) && fairness.LeadingZeroBits(c.Challenge, "1"+sol) < c.Difficulty {
		t.Fatalf("with a wrong solution: %v", err)
	}
	if _, err := r.Join(ctx, room, "a", c.Challenge, sol); err != nil {
		t.Fatalf("with a proof: %v", err)
	}
	if _, err := r.Join(ctx, room, "b", c.Challenge, sol); !errors.Is(err, fairness.ErrChallengeInvalid) {
		t.Fatalf("the same proof for a second session: %v", err)
	}
	if e, err := r.Join(ctx, room, "a", "", ""); err != nil || e.Arrival != 1 {
		t.Fatalf("the same session again: %+v %v", e, err)
	}
}

// With a hold target, admission pauses for a second after one in which
// the admitted holds reached it.
func TestRoomHoldTarget(t *testing.T) {
	r, clock, room := newTestRoom(t, servicetest.ClusterRedis)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := r.Join(ctx, room, fmt.Sprintf("s%d", i), "", ""); err != nil {
			t.Fatal(err)
		}
	}
	r.Rate = fairness.AdmissionRate{Rate: 1, Burst: 1, HoldTarget: 2}
	r.HoldsPerAdmission = 5
	admitted := func() []string {
		var out []string
		for i := 0; i < 5; i++ {
			s := fmt.Sprintf("s%d", i)
			if e, err := r.Status(ctx, room, s); err != nil {
				t.Fatal(err)
			} else if e.Admitted {
				out = append(out, s)
			}
		}
		return out
	}
	t1 := release.Add(time.Second)
	clock.set(t1)
	first := admitted()
	if len(first) != 1 {
		t.Fatalf("first second: %v", first)
	}
	e, _ := r.Status(ctx, room, first[0])
	token, _ := r.Admit(room, first[0], e)
	for i := 0; i < 2; i++ {
		if _, err := r.Gate(ctx, room.Location, first[0], token); err != nil {
			t.Fatal(err)
		}
	}
	clock.set(t1.Add(time.Second))
	if got := admitted(); len(got) != 1 {
		t.Fatalf("after a second at the target: %v admitted, want still 1", got)
	}
	clock.set(t1.Add(2 * time.Second))
	if got := admitted(); len(got) != 2 {
		t.Fatalf("after a quiet second: %v admitted, want 2", got)
	}
}

// TestRoomLengths: monitoring sees how many wait in each active room,
// and admitted citizens no longer count.
func TestRoomLengths(t *testing.T) {
	servicetest.OnEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		r, _, room := newTestRoom(t, b)
		ctx := context.Background()
		for _, s := range []string{"a", "b", "c"} {
			if _, err := r.Join(ctx, room, s, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		got, err := r.Lengths(ctx, []string{room.Location, "no-room-here"})
		if err != nil || len(got) != 1 || got[room.Location] != 3 {
			t.Fatalf("lengths %v %v, want 3 waiting in %s only", got, err, room.Location)
		}
	})
}
