package fairness

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Waiting-room outcomes.
var (
	// ErrRoomInactive: the location has no waiting room now.
	ErrRoomInactive = errors.New("waiting room not active")
	// ErrNotInRoom: this browser has no place in the room (never joined,
	// or its place lapsed because it stayed away too long).
	ErrNotInRoom = errors.New("no place in the waiting room")
	// ErrAdmissionRequired: a hold while the room is active came without
	// an admission token.
	ErrAdmissionRequired = errors.New("admission token required")
	// ErrAdmissionInvalid: the token is forged, expired, for another
	// location or another browser.
	ErrAdmissionInvalid = errors.New("admission token invalid")
	// ErrAdmissionUsed: the token has placed as many holds as one
	// admission allows.
	ErrAdmissionUsed = errors.New("admission token used up")
)

// ReleaseSchedule says when a location releases its next days. Where the
// location has no schedule it reports false.
type ReleaseSchedule interface {
	NextRelease(location string, at time.Time) (time.Time, bool)
}

// Releases lists fixed release instants, for locations that release once
// at an announced time (and for tests and benchmarks). It applies to every
// location it is asked about.
type Releases []time.Time

// NextRelease implements ReleaseSchedule: the first instant at or after at.
func (r Releases) NextRelease(_ string, at time.Time) (time.Time, bool) {
	var best time.Time
	for _, t := range r {
		if !t.Before(at) && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	return best, !best.IsZero()
}

// Schedules asks several schedules and takes the earliest answer.
type Schedules []ReleaseSchedule

// NextRelease implements ReleaseSchedule.
func (s Schedules) NextRelease(location string, at time.Time) (time.Time, bool) {
	var best time.Time
	for _, sc := range s {
		if t, ok := sc.NextRelease(location, at); ok && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	return best, !best.IsZero()
}

// RoomID names one opening of a location's waiting room: the release it
// stands in front of, or the moment an automatic room was switched on.
type RoomID struct {
	Location string
	Opens    time.Time
}

// Entry is a browser's place in a room, as the store sees it.
type Entry struct {
	// Admitted is set once the browser's turn came.
	Admitted bool
	// Early is set for places drawn at random (joined before the opening).
	Early bool
	// Arrival numbers the joins of the room, 1 for the first.
	Arrival int64
	// Ahead counts the places before this one (some may still lapse);
	// -1 before the opening, when the order is not revealed yet.
	Ahead int64
	// Waiting counts every place not yet admitted.
	Waiting int64
	// Number is the admission's sequence number, 1 for the first admitted.
	Number     int64
	JoinedAt   time.Time
	AdmittedAt time.Time
}

// AdmissionRate is how the store lets people out of the queue: Rate per
// second, at most Burst at once.
type AdmissionRate struct {
	Rate  float64
	Burst int
	// HoldTarget pauses admission while the holds placed with
	// admissions in the last full second reached it; 0: no target.
	HoldTarget int
}

// Kinds of requests the store counts per location and second.
const (
	// CountHoldRequests counts every hold request (the automatic trigger).
	CountHoldRequests = "rate"
	// CountAdmittedHolds counts holds placed with an admission (the hold
	// target).
	CountAdmittedHolds = "held"
)

// RoomStore keeps the rooms where every replica sees them (package
// fairness/redis).
type RoomStore interface {
	// Join gives session a place: with an early score (a uniformly random
	// number below 2^52) before the opening, at the end in arrival order
	// (score nil) after it. A session that already has a live place
	// keeps it; one whose place lapsed (not seen for keep) or whose
	// admission is older than admitted joins anew. ErrScoreTaken asks
	// for another draw.
	Join(ctx context.Context, room RoomID, session string, score *uint64, now time.Time, keep, admitted, ttl time.Duration) (Entry, error)
	// Status admits whoever's turn has come (at rate, from the opening
	// on), marks session seen and returns its entry; ErrNotInRoom when it
	// has no live place.
	Status(ctx context.Context, room RoomID, session string, rate AdmissionRate, now time.Time, keep, ttl time.Duration) (Entry, error)
	// CountRequest counts a request of a kind (CountHoldRequests,
	// CountAdmittedHolds) to a location in the second win and returns
	// that second's count. Status reads the admitted holds of the second
	// before now for the hold target.
	CountRequest(ctx context.Context, location, kind string, win int64, ttl time.Duration) (int64, error)
	// AutoRoom returns the opening of the location's automatic room; with
	// trigger set it switches one on at now (or keeps the current one)
	// for ttl. false when none is on.
	AutoRoom(ctx context.Context, location string, trigger bool, now time.Time, ttl time.Duration) (time.Time, bool, error)
	// SpendAdmission counts one hold on the admission nonce, refusing
	// (false) beyond max; the count lives for ttl.
	SpendAdmission(ctx context.Context, location, nonce string, max int, ttl time.Duration) (bool, error)
	// RefundAdmission gives back a count taken for a hold that failed.
	RefundAdmission(ctx context.Context, location, nonce string) error
	// Waiting counts the places in a room not admitted yet.
	Waiting(ctx context.Context, room RoomID) (int64, error)
}

// ErrScoreTaken is the store's answer when a drawn score is already
// another place's; Join draws again.
var ErrScoreTaken = errors.New("waiting room score taken")

// lateBase is the first score of places taken after the opening: every
// early score is below it, and late scores are lateBase + arrival number,
// exact in a float64 (Redis sorted-set scores) up to 2^53.
const lateBase = uint64(1) << 52

// Room is the waiting room in front of the releases of some locations,
// and of any location whose hold rate crosses AutoThreshold.
type Room struct {
	store RoomStore
	key   []byte

	// Schedule says when locations release days.
	Schedule ReleaseSchedule
	// All puts a room in front of every location's releases; Locations
	// in front of some.
	All       bool
	Locations map[string]bool
	// Early is how long before a release the room opens: everyone who
	// joins in that time gets a random place.
	Early time.Duration
	// After is how long after a release (or after the request rate last
	// crossed AutoThreshold) the room stays active.
	After time.Duration
	// AutoThreshold switches a room on at a location that gets more than
	// this many hold requests per second (across replicas); 0: never.
	AutoThreshold int
	// Rate admits this many per second, at most Burst at once.
	Rate AdmissionRate
	// Keep is how long a browser may stay away and keep its place.
	Keep time.Duration
	// TokenTTL is how long an admission token is valid after the turn came.
	TokenTTL time.Duration
	// HoldsPerAdmission bounds the holds one admission may place.
	HoldsPerAdmission int
	// Proofs prices a place: a proof of work of its own difficulty,
	// scoped to the room. Nil only in tests of the queue itself.
	Proofs *Challenges
	// Now is the clock; tests move it.
	Now func() time.Time
}

// NewRoom signs admission tokens with key, which every replica shares.
func NewRoom(store RoomStore, key []byte) *Room {
	return &Room{store: store, key: key, Early: 30 * time.Minute, After: 30 * time.Minute,
		Rate: AdmissionRate{Rate: 20, Burst: 20}, Keep: 5 * time.Minute, TokenTTL: 10 * time.Minute,
		HoldsPerAdmission: 2, Locations: map[string]bool{}, Now: time.Now}
}

func (r *Room) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// KeepMinutes is Keep in whole minutes, for the page.
func (r *Room) KeepMinutes() int { return int(math.Ceil(r.Keep.Minutes())) }

// Configured reports whether the location may have a room at all.
func (r *Room) Configured(location string) bool {
	return r != nil && (r.All || r.Locations[location] || r.AutoThreshold > 0)
}

// ttl is how long a room's keys outlive its last use.
func (r *Room) ttl() time.Duration { return r.Early + r.After + r.Keep + r.TokenTTL + time.Hour }

// Active returns the room in front of the location now: the release
// within Early ahead or After behind, or the automatic room. The
// ErrRoomInactive error says there is none.
func (r *Room) Active(ctx context.Context, location string) (RoomID, error) {
	if !r.Configured(location) {
		return RoomID{}, ErrRoomInactive
	}
	now := r.now()
	if (r.All || r.Locations[location]) && r.Schedule != nil {
		if rel, ok := r.Schedule.NextRelease(location, now.Add(-r.After)); ok && !now.Before(rel.Add(-r.Early)) {
			return RoomID{Location: location, Opens: rel.UTC()}, nil
		}
	}
	if r.AutoThreshold > 0 {
		opens, ok, err := r.store.AutoRoom(ctx, location, false, now, r.After)
		if err != nil {
			return RoomID{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if ok {
			return RoomID{Location: location, Opens: opens.UTC()}, nil
		}
	}
	return RoomID{}, ErrRoomInactive
}

// Lengths counts, for each location with an active room, the citizens
// waiting in it: the waiting-room length monitoring shows.
func (r *Room) Lengths(ctx context.Context, locations []string) (map[string]int, error) {
	out := map[string]int{}
	if r == nil {
		return out, nil
	}
	for _, loc := range locations {
		room, err := r.Active(ctx, loc)
		if errors.Is(err, ErrRoomInactive) {
			continue
		}
		if err != nil {
			return out, err
		}
		n, err := r.store.Waiting(ctx, room)
		if err != nil {
			return out, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		out[loc] = int(n)
	}
	return out, nil
}

// CountHold counts a hold request at a location towards the automatic
// trigger, and switches the room on when the rate is crossed.
func (r *Room) CountHold(ctx context.Context, location string) error {
	if r == nil || r.AutoThreshold <= 0 {
		return nil
	}
	now := r.now()
	n, err := r.store.CountRequest(ctx, location, CountHoldRequests, now.Unix(), 3*time.Second)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if n > int64(r.AutoThreshold) {
		if _, _, err := r.store.AutoRoom(ctx, location, true, now, r.After); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return nil
}

// Challenge is the proof of work a place costs at location.
func (r *Room) Challenge(location string) Challenge {
	return r.Proofs.Issue(roomScope(location))
}

// roomScope keeps the room's challenges apart from the holds' ones (which
// may be easier): "~" appears in no location id.
func roomScope(location string) string { return "room~" + location }

// Join gives the browser session a place in the active room. A session
// that has a live place keeps it and needs no new proof (a reload, a
// second tab); any other needs a solved challenge from Challenge. Before
// the opening the place's score is a uniformly random 52-bit number from
// crypto/rand, drawn again on the rare tie, so the scores of the early
// places are distinct and every order of them is equally likely (see
// docs/fair-release.md); after the opening the place goes to the end.
func (r *Room) Join(ctx context.Context, room RoomID, session, challenge, solution string) (Entry, error) {
	e, err := r.Status(ctx, room, session)
	if err == nil && !(e.Admitted && !r.now().Before(e.AdmittedAt.Add(r.TokenTTL))) {
		return e, nil
	}
	if err != nil && !errors.Is(err, ErrNotInRoom) {
		return e, err
	}
	if r.Proofs != nil {
		if challenge == "" || solution == "" {
			return Entry{}, ErrChallengeRequired
		}
		if err := r.Proofs.Verify(ctx, roomScope(room.Location), "room", challenge, solution); err != nil {
			return Entry{}, err
		}
	}
	now := r.now()
	for tries := 0; ; tries++ {
		var score *uint64
		if now.Before(room.Opens) {
			s := randomScore()
			score = &s
		}
		e, err := r.store.Join(ctx, room, session, score, now, r.Keep, r.TokenTTL, r.ttl())
		if errors.Is(err, ErrScoreTaken) && tries < 8 {
			continue
		}
		if err != nil {
			return Entry{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return e, nil
	}
}

func randomScore() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return binary.BigEndian.Uint64(b[:]) >> 12 // 52 uniform bits
}

// Status lets whoever's turn has come out of the room and returns the
// session's entry; ErrNotInRoom when it has no live place.
func (r *Room) Status(ctx context.Context, room RoomID, session string) (Entry, error) {
	e, err := r.store.Status(ctx, room, session, r.Rate, r.now(), r.Keep, r.ttl())
	if errors.Is(err, ErrNotInRoom) {
		return e, err
	}
	if err != nil {
		return e, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return e, nil
}

// Estimate is how long the entry will probably wait: until the opening,
// then its share of the admission rate.
func (r *Room) Estimate(room RoomID, e Entry) time.Duration {
	if e.Admitted {
		return 0
	}
	wait := time.Duration(0)
	ahead := float64(e.Ahead)
	if now := r.now(); now.Before(room.Opens) {
		wait = room.Opens.Sub(now)
		ahead = float64(e.Waiting) / 2 // the draw is still to come: on average half
	}
	if r.Rate.Rate > 0 {
		wait += time.Duration(ahead / r.Rate.Rate * float64(time.Second))
	}
	return wait
}

// Admission is a verified admission token.
type Admission struct {
	Location string
	Opens    time.Time
	Number   int64
	Expires  time.Time
	Nonce    string
}

// Admission tokens are self-contained text any replica can check:
//
//	a1.<location>.<opens unix>.<number>.<expires unix>.<nonce>.<mac>
//
// mac is HMAC-SHA256 over everything before it and the browser id, so the
// token names no browser but works in one only.
const admissionVersion = "a1"

// Admit issues the token of an admitted entry for session. It expires
// TokenTTL after the turn came, however late the browser asks.
func (r *Room) Admit(room RoomID, session string, e Entry) (string, Admission) {
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	a := Admission{Location: room.Location, Opens: room.Opens, Number: e.Number,
		Expires: e.AdmittedAt.Add(r.TokenTTL).Truncate(time.Second), Nonce: base64.RawURLEncoding.EncodeToString(nonce)}
	body := strings.Join([]string{admissionVersion, a.Location, strconv.FormatInt(a.Opens.Unix(), 10),
		strconv.FormatInt(a.Number, 10), strconv.FormatInt(a.Expires.Unix(), 10), a.Nonce}, ".")
	return body + "." + r.signAdmission(body, session), a
}

func (r *Room) signAdmission(body, session string) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(body))
	m.Write([]byte{0})
	m.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// MaxAdmissionToken bounds the length of a token taken from outside.
const MaxAdmissionToken = 256

// VerifyAdmission checks a token for a hold at location by session.
func (r *Room) VerifyAdmission(location, session, token string) (Admission, error) {
	if token == "" {
		return Admission{}, ErrAdmissionRequired
	}
	i := strings.LastIndexByte(token, '.')
	if len(token) > MaxAdmissionToken || i < 0 {
		return Admission{}, fmt.Errorf("%w: malformed", ErrAdmissionInvalid)
	}
	body, mac := token[:i], token[i+1:]
	if !hmac.Equal([]byte(mac), []byte(r.signAdmission(body, session))) {
		return Admission{}, fmt.Errorf("%w: bad signature or another browser", ErrAdmissionInvalid)
	}
	f := strings.Split(body, ".")
	if len(f) != 6 || f[0] != admissionVersion {
		return Admission{}, fmt.Errorf("%w: malformed", ErrAdmissionInvalid)
	}
	opens, err1 := strconv.ParseInt(f[2], 10, 64)
	num, err2 := strconv.ParseInt(f[3], 10, 64)
	exp, err3 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Admission{}, fmt.Errorf("%w: malformed", ErrAdmissionInvalid)
	}
	a := Admission{Location: f[1], Opens: time.Unix(opens, 0).UTC(), Number: num, Expires: time.Unix(exp, 0).UTC(), Nonce: f[5]}
	switch {
	case a.Location != location:
		return a, fmt.Errorf("%w: issued for another location", ErrAdmissionInvalid)
	case !r.now().Before(a.Expires):
		return a, fmt.Errorf("%w: expired", ErrAdmissionInvalid)
	}
	return a, nil
}

// SpendHold counts a hold on the admission; ErrAdmissionUsed when it has
// placed its share. Refund gives the count back when the hold failed.
func (r *Room) SpendHold(ctx context.Context, a Admission) error {
	if r.HoldsPerAdmission <= 0 {
		return nil
	}
	ok, err := r.store.SpendAdmission(ctx, a.Location, a.Nonce, r.HoldsPerAdmission, time.Until(a.Expires)+r.TokenTTL)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !ok {
		return ErrAdmissionUsed
	}
	return nil
}

// Refund gives back the count SpendHold took, for a hold that failed.
func (r *Room) Refund(ctx context.Context, a Admission) error {
	if r.HoldsPerAdmission <= 0 {
		return nil
	}
	if err := r.store.RefundAdmission(ctx, a.Location, a.Nonce); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Gate is what a hold endpoint asks: nil when the hold may go ahead (no
// room, or a valid token, counted), else why not. The returned admission
// is the one to Refund when the hold then fails.
func (r *Room) Gate(ctx context.Context, location, session, token string) (*Admission, error) {
	if !r.Configured(location) {
		return nil, nil
	}
	if err := r.CountHold(ctx, location); err != nil {
		return nil, err
	}
	if _, err := r.Active(ctx, location); errors.Is(err, ErrRoomInactive) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	a, err := r.VerifyAdmission(location, session, token)
	if err != nil {
		return nil, err
	}
	if err := r.SpendHold(ctx, a); err != nil {
		return nil, err
	}
	if r.Rate.HoldTarget > 0 {
		// Counted before the hold is placed, refused ones too: a
		// refused hold costs the store as much as a granted one.
		if _, err := r.store.CountRequest(ctx, location, CountAdmittedHolds, r.now().Unix(), 3*time.Second); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return &a, nil
}
