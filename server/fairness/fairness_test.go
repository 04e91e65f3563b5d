package fairness

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// memStore is an in-memory Store: a bucket lets burst requests through and
// then names the time one token takes to come back.
type memStore struct {
	mu     sync.Mutex
	taken  map[string]int
	spent  map[string]bool
	counts map[string]int64
	down   error
}

func newMemStore() *memStore {
	return &memStore{taken: map[string]int{}, spent: map[string]bool{}, counts: map[string]int64{}}
}

func (m *memStore) TakeToken(_ context.Context, client, bucket string, rate float64, burst int) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return false, 0, m.down
	}
	m.taken[client+" "+bucket]++
	if m.taken[client+" "+bucket] <= burst {
		return true, 0, nil
	}
	return false, time.Duration(float64(time.Second) / rate), nil
}

func (m *memStore) Spend(_ context.Context, location, day, nonce string, _ time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return false, m.down
	}
	key := location + " " + day + " " + nonce
	if m.spent[key] {
		return false, nil
	}
	m.spent[key] = true
	return true, nil
}

func (m *memStore) CountHold(_ context.Context, location, day string, win int64, _ time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return 0, m.down
	}
	key := location + " " + day + " " + strconv.FormatInt(win, 10)
	m.counts[key]++
	return m.counts[key], nil
}

func TestTokenBucket(t *testing.T) {
	store := newMemStore()
	ctx := context.Background()
	l := NewLimiter(store, []byte("k"), 0.01, 3)
	client := servicetest.RandomID("198.51.100.")
	for i := 0; i < 3; i++ {
		if ok, _, err := l.Allow(ctx, "holds", client); err != nil || !ok {
			t.Fatalf("request %d in burst: %v %v", i, ok, err)
		}
	}
	ok, wait, err := l.Allow(ctx, "holds", client)
	if err != nil || ok || wait < 90*time.Second || wait > 101*time.Second {
		t.Fatalf("over the burst: ok=%v wait=%v err=%v (rate 0.01/s: a token per 100s)", ok, wait, err)
	}
	if ok, _, _ := l.Allow(ctx, "bookings", client); !ok {
		t.Fatal("another bucket of the same client is limited")
	}
	if ok, _, _ := NewLimiter(store, []byte("k"), 0, 1).Allow(ctx, "holds", client); !ok {
		t.Fatal("a limiter with rate 0 limits")
	}
	// A /64 is one client: IPv6 hosts cannot spend a bucket per address.
	for i := 0; i < 3; i++ {
		l.Allow(ctx, "holds", "2001:db8::"+strconv.Itoa(i+1))
	}
	if ok, _, _ := l.Allow(ctx, "holds", "2001:db8::ffff"); ok {
		t.Fatal("fourth request from one /64 allowed")
	}
	store.down = errors.New("connection refused")
	if _, _, err := l.Allow(ctx, "holds", client); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("store down: %v", err)
	}
}

func TestChallenge(t *testing.T) {
	store := newMemStore()
	ctx := context.Background()
	now := time.Now()
	c := NewChallenges(store, []byte("secret"))
	c.Difficulty = 12
	c.Now = func() time.Time { return now }
	other := NewChallenges(store, []byte("other secret"))
	other.Difficulty = 12

	ch := c.Issue("stadtbad")
	sol := Solve(ch.Challenge, ch.Difficulty)
	if LeadingZeroBits(ch.Challenge, sol) < 12 || ch.Difficulty != 12 || !ch.ExpiresAt.After(now) {
		t.Fatalf("issued %+v, solution %s", ch, sol)
	}
	wrong := "1"
	for LeadingZeroBits(ch.Challenge, wrong) >= 12 {
		wrong += "1"
	}
	day := servicetest.RandomID("2030-01-")
	forged := other.Issue("stadtbad")
	tests := []struct {
		name, scope, challenge, solution string
		later                            time.Duration
		ok                               bool
	}{
		{"wrong solution", "stadtbad", ch.Challenge, wrong, 0, false},
		{"not a number", "stadtbad", ch.Challenge, "x" + sol, 0, false},
		{"other scope", "buergeramt", ch.Challenge, sol, 0, false},
		{"other key", "stadtbad", forged.Challenge, Solve(forged.Challenge, 12), 0, false},
		{"truncated", "stadtbad", ch.Challenge[:20], sol, 0, false},
		{"expired", "stadtbad", ch.Challenge, sol, c.TTL + time.Second, false},
		{"good", "stadtbad", ch.Challenge, sol, 0, true},
		{"spent", "stadtbad", ch.Challenge, sol, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Now = func() time.Time { return now.Add(tt.later) }
			err := c.Verify(ctx, tt.scope, day, tt.challenge, tt.solution)
			if tt.ok && err != nil || !tt.ok && !errors.Is(err, ErrChallengeInvalid) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// A challenge issued before the difficulty went up is not enough.
	c.Now = func() time.Time { return now }
	easy := c.Issue("stadtbad")
	c.Difficulty = 14
	if err := c.Verify(ctx, "stadtbad", day, easy.Challenge, Solve(easy.Challenge, 12)); !errors.Is(err, ErrChallengeInvalid) {
		t.Fatalf("too easy: %v", err)
	}
}

func TestChallengeRequired(t *testing.T) {
	store := newMemStore()
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 10, 0, 30, 0, time.UTC)
	c := NewChallenges(store, []byte("k"))
	c.Now = func() time.Time { return now }
	loc, day := servicetest.RandomID("loc-"), "2030-01-02"
	if need, _ := c.Required(ctx, loc, day); need {
		t.Fatal("required with nothing configured")
	}
	c.Locations = map[string]bool{loc: true}
	if need, _ := c.Required(ctx, loc, day); !need {
		t.Fatal("not required at a configured location")
	}
	c.Locations, c.All = nil, true
	if need, _ := c.Required(ctx, loc, day); !need {
		t.Fatal("not required with all")
	}
	c.All, c.AutoThreshold = false, 5
	for i := 1; i <= 7; i++ {
		need, err := c.Required(ctx, loc, day)
		if err != nil || need != (i > 5) {
			t.Fatalf("request %d: need=%v err=%v", i, need, err)
		}
	}
	if need, _ := c.Required(ctx, loc, "2030-01-03"); need {
		t.Fatal("the rush of one day spilled into another")
	}
	now = now.Add(time.Minute)
	if need, _ := c.Required(ctx, loc, day); need {
		t.Fatal("still required in the next window")
	}
	store.down = errors.New("connection refused")
	if _, err := c.Required(ctx, loc, day); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("store down: %v", err)
	}
}

// The browser solver the citizens' pages serve must find what the server
// accepts.
func TestJavaScriptSolver(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	src, err := filepath.Abs("../web/assets/pow.js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatal(err)
	}
	c := NewChallenges(nil, []byte("k"))
	c.Difficulty = 16
	for _, scope := range []string{"stadtbad", "buergeramt-koblenz-mitte-mit-einem-sehr-langen-namen-ueber-einen-block"} {
		ch := c.Issue(scope)
		start := time.Now()
		out, err := exec.Command(node, "-e", `const {solvePow} = require(process.argv[1]); process.stdout.write(solvePow(process.argv[2], +process.argv[3]))`,
			src, ch.Challenge, "16").CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v %s", err, out)
		}
		sol := strings.TrimSpace(string(out))
		if got := LeadingZeroBits(ch.Challenge, sol); got < 16 || sol != Solve(ch.Challenge, 16) {
			t.Fatalf("js solution %q has %d zero bits; Go finds %s", sol, got, Solve(ch.Challenge, 16))
		}
		t.Logf("js solved %d bits in %v (node start included)", ch.Difficulty, time.Since(start))
	}
}
