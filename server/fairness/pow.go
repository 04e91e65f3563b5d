package fairness

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Proof-of-work outcomes.
var (
	ErrChallengeRequired = errors.New("proof of work required")
	ErrChallengeInvalid  = errors.New("proof of work invalid")
)

// A challenge is self-contained text, so any replica can check it without
// having stored it:
//
//	v1.<scope>.<expires unix s>.<difficulty>.<nonce>.<mac>
//
// mac is HMAC-SHA256 over everything before it. The client finds a decimal
// counter such that SHA-256(challenge || counter) starts with difficulty
// zero bits. Scopes are location ids, which contain no dots.
const challengeVersion = "v1"

// MaxDifficulty bounds what a configuration may ask of a phone.
const MaxDifficulty = 28

// Challenges issues and checks proof-of-work challenges and decides when a
// location-day needs them.
type Challenges struct {
	store Store
	key   []byte

	// Difficulty is the number of leading zero bits a solution needs.
	Difficulty int
	// TTL is how long a challenge may be used.
	TTL time.Duration
	// All requires a solution for every location; Locations for some.
	All       bool
	Locations map[string]bool
	// AutoThreshold requires a solution at a location-day once it has seen
	// more than this many hold requests within AutoWindow; 0 switches the
	// automatic trigger off.
	AutoThreshold int
	AutoWindow    time.Duration
	// Now is the clock; tests move it to expire challenges.
	Now func() time.Time
}

// NewChallenges signs challenges with key, which every replica must share.
// The store counts requests and spends used challenges.
func NewChallenges(store Store, key []byte) *Challenges {
	return &Challenges{store: store, key: key, Difficulty: 16, TTL: 5 * time.Minute, AutoWindow: time.Minute, Now: time.Now}
}

// Challenge is what a client gets to solve.
type Challenge struct {
	Challenge  string    `json:"challenge"`
	Difficulty int       `json:"difficulty"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Issue makes a challenge for scope (a location id).
func (c *Challenges) Issue(scope string) Challenge {
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	exp := c.Now().Add(c.TTL).Truncate(time.Second)
	body := strings.Join([]string{challengeVersion, scope, strconv.FormatInt(exp.Unix(), 10),
		strconv.Itoa(c.Difficulty), base64.RawURLEncoding.EncodeToString(nonce)}, ".")
	return Challenge{Challenge: body + "." + c.sign(body), Difficulty: c.Difficulty, ExpiresAt: exp.UTC()}
}

func (c *Challenges) sign(body string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// parsed is a challenge whose signature has been checked.
type parsed struct {
	scope      string
	expires    time.Time
	difficulty int
	nonce      string
}

func (c *Challenges) parse(challenge string) (parsed, error) {
	i := strings.LastIndexByte(challenge, '.')
	if i < 0 {
		return parsed{}, fmt.Errorf("%w: malformed", ErrChallengeInvalid)
	}
	body, mac := challenge[:i], challenge[i+1:]
	if !hmac.Equal([]byte(mac), []byte(c.sign(body))) {
		return parsed{}, fmt.Errorf("%w: bad signature", ErrChallengeInvalid)
	}
	f := strings.Split(body, ".")
	if len(f) != 5 || f[0] != challengeVersion {
		return parsed{}, fmt.Errorf("%w: malformed", ErrChallengeInvalid)
	}
	exp, err1 := strconv.ParseInt(f[2], 10, 64)
	diff, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil {
		return parsed{}, fmt.Errorf("%w: malformed", ErrChallengeInvalid)
	}
	return parsed{scope: f[1], expires: time.Unix(exp, 0), difficulty: diff, nonce: f[4]}, nil
}

// Verify checks a solution for scope and spends the challenge: a challenge
// can be used once, on whichever replica. day names the location-day the
// solution is used for; the store keeps the spent mark next to the day's
// other state.
func (c *Challenges) Verify(ctx context.Context, scope, day, challenge, solution string) error {
	p, err := c.parse(challenge)
	if err != nil {
		return err
	}
	now := c.Now()
	switch {
	case p.scope != scope:
		return fmt.Errorf("%w: issued for another location", ErrChallengeInvalid)
	case !now.Before(p.expires):
		return fmt.Errorf("%w: expired", ErrChallengeInvalid)
	case p.difficulty < c.Difficulty:
		// Issued before the difficulty was raised: not enough work.
		return fmt.Errorf("%w: too easy", ErrChallengeInvalid)
	case !validCounter(solution) || LeadingZeroBits(challenge, solution) < p.difficulty:
		return fmt.Errorf("%w: wrong solution", ErrChallengeInvalid)
	}
	ok, err := c.store.Spend(ctx, scope, day, p.nonce, p.expires.Sub(now)+time.Second)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !ok {
		return fmt.Errorf("%w: already used", ErrChallengeInvalid)
	}
	return nil
}

// Required reports whether a hold at a location-day needs a solution, and
// counts the request towards the automatic trigger.
func (c *Challenges) Required(ctx context.Context, location, day string) (bool, error) {
	if c.All || c.Locations[location] {
		return true, nil
	}
	if c.AutoThreshold <= 0 {
		return false, nil
	}
	win := c.AutoWindow
	if win <= 0 {
		win = time.Minute
	}
	slot := c.Now().UnixMilli() / win.Milliseconds()
	n, err := c.store.CountHold(ctx, location, day, slot, 2*win)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return n > int64(c.AutoThreshold), nil
}

func validCounter(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// LeadingZeroBits counts the leading zero bits of SHA-256(challenge ||
// solution).
func LeadingZeroBits(challenge, solution string) int {
	sum := sha256.Sum256([]byte(challenge + solution))
	return leadingZeros(sum[:])
}

func leadingZeros(sum []byte) int {
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}

// Solve finds the smallest counter that solves challenge at difficulty. It
// is what a browser does (server/web/assets/pow.js), for tests and the load generator.
func Solve(challenge string, difficulty int) string {
	buf := make([]byte, 0, len(challenge)+20)
	buf = append(buf, challenge...)
	for n := uint64(0); ; n++ {
		b := strconv.AppendUint(buf, n, 10)
		sum := sha256.Sum256(b)
		if leadingZeros(sum[:]) >= difficulty {
			return strconv.FormatUint(n, 10)
		}
	}
}
