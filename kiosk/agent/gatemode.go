package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/kiosk/gate"
)

// Reasons a gate refuses a scan. The server's reasons (already_redeemed,
// outside_slot, wrong_location, ticket_invalid) pass through as given.
const (
	ReasonInvalid         = "ticket_invalid"
	ReasonWrongLocation   = "wrong_location"
	ReasonTooEarly        = "too_early"
	ReasonExpired         = "expired"
	ReasonAlreadyRedeemed = "already_redeemed"
	// ReasonCancelled: the ticket is on the revocation list of the
	// gate's configuration (its booking was cancelled).
	ReasonCancelled = "booking_cancelled"
)

// Decision is a gate's answer to one scan.
type Decision struct {
	Admit  bool
	Reason string // why a scan was refused
	Code   string // booking code, when the ticket could be read
	// FirstEntry is when an already used ticket was first admitted.
	FirstEntry time.Time
	// Offline is set when the gate admitted without the server's word.
	Offline bool
	At      time.Time
	Nonce   string
	// Took is the time from the scan to the decision.
	Took time.Duration
}

// Gate decides entrance scans: the signed ticket is checked offline, the
// local store refuses a second use, the server is asked for at most
// OnlineWait, and scans admitted without it are uploaded later.
type Gate struct {
	Store      *Store
	Client     *Client
	Location   string
	Early      time.Duration
	Late       time.Duration
	OnlineWait time.Duration
	Relay      gate.Relay // nil: no relay, decisions are only shown
	Pulse      time.Duration
	Now        func() time.Time
	Log        *slog.Logger
	// Backoff is the first retry delay of the uploader; it doubles up
	// to MaxBackoff.
	Backoff, MaxBackoff time.Duration

	decideMu sync.Mutex
	pulseMu  sync.Mutex
	kick     chan struct{}
	once     sync.Once

	mu   sync.Mutex
	last *Decision
	// revoked are the codes of cancelled bookings, from the server's
	// configuration; refused without asking the server.
	revoked map[string]bool
	// keys verify the tickets' signatures, from the server's
	// configuration.
	keys booking.TicketKeys
}

// SetKeys replaces the keys tickets are verified with.
func (g *Gate) SetKeys(keys booking.TicketKeys) {
	g.mu.Lock()
	g.keys = keys
	g.mu.Unlock()
}

// SetRevoked replaces the revocation list: the codes of cancelled bookings
// the gate refuses, online or not.
func (g *Gate) SetRevoked(codes []string) {
	set := make(map[string]bool, len(codes))
	for _, c := range codes {
		set[c] = true
	}
	g.mu.Lock()
	g.revoked = set
	g.mu.Unlock()
}

func (g *Gate) isRevoked(code string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.revoked[code]
}

func (g *Gate) init() {
	g.once.Do(func() {
		g.kick = make(chan struct{}, 1)
		if g.Now == nil {
			g.Now = time.Now
		}
		if g.Log == nil {
			g.Log = slog.Default()
		}
		if g.Backoff <= 0 {
			g.Backoff = time.Second
		}
		if g.MaxBackoff < g.Backoff {
			g.MaxBackoff = max(time.Minute, g.Backoff)
		}
	})
}

// Last returns the most recent decision.
func (g *Gate) Last() (Decision, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil {
		return Decision{}, false
	}
	return *g.last, true
}

// Decide handles one scanned payload and opens the gate when it admits.
func (g *Gate) Decide(ctx context.Context, payload string) Decision {
	g.init()
	g.decideMu.Lock()
	defer g.decideMu.Unlock()
	began := time.Now()
	d := g.decide(ctx, payload)
	d.Took = time.Since(began)
	g.mu.Lock()
	g.last = &d
	g.mu.Unlock()
	level := slog.LevelInfo
	if !d.Admit {
		level = slog.LevelWarn
	}
	g.Log.Log(ctx, level, "gate scan", "admit", d.Admit, "reason", d.Reason, "code", d.Code, "offline", d.Offline, "took", d.Took)
	return d
}

func (g *Gate) decide(ctx context.Context, payload string) Decision {
	now := g.Now()
	d := Decision{At: now}
	g.mu.Lock()
	keys := g.keys
	g.mu.Unlock()
	// A retired key is refused once its end has passed on the gate's own
	// clock, also when the gate has been offline since.
	claims, err := keys.Verify(payload, now)
	if err != nil {
		d.Reason = ReasonInvalid
		return d
	}
	d.Code = claims.Code
	if claims.Location != g.Location {
		d.Reason = ReasonWrongLocation
		return d
	}
	if err := claims.ValidAt(now, g.Early, g.Late); err != nil {
		d.Reason = ReasonExpired
		if errors.Is(err, booking.ErrTicketTooEarly) {
			d.Reason = ReasonTooEarly
		}
		return d
	}
	if first, ok := g.Store.FirstEntry(claims.Code); ok {
		d.Reason, d.FirstEntry = ReasonAlreadyRedeemed, first
		return d
	}
	if g.isRevoked(claims.Code) {
		d.Reason = ReasonCancelled
		return d
	}
	d.Nonce = newNonce()
	rec := ScanRecord{Nonce: d.Nonce, Code: claims.Code, QR: payload, ScannedAt: now, State: ScanPending}

	if g.OnlineWait > 0 && g.Client != nil {
		octx, cancel := context.WithTimeout(ctx, g.OnlineWait)
		res, err := g.Client.Redeem(octx, []Redemption{{QR: payload, Nonce: d.Nonce, ScannedAt: now}})
		cancel()
		if err == nil {
			r := res[0]
			if r.Result != ScanAdmitted {
				rec.State, rec.Reason, rec.FirstEntry = ScanRefused, r.Reason, r.FirstScannedAt
				if err := g.Store.Put(rec); err != nil {
					g.Log.Error("gate: store refusal", "err", err)
				}
				d.Reason = r.Reason
				if r.FirstScannedAt != nil {
					d.FirstEntry = *r.FirstScannedAt
				}
				d.Nonce = ""
				return d
			}
			rec.State = ScanAdmitted
		} else {
			g.Log.Info("gate: server not reached in time, admitting on the offline check", "err", err)
			rec.Offline, d.Offline = true, true
		}
	} else {
		// Decided without the server's word: uploaded as an offline scan,
		// so the server judges it at its scan time.
		rec.Offline, d.Offline = true, true
	}
	// The record is on disk before the gate opens: a restart cannot
	// forget an admission.
	rec.Opened = true
	if err := g.Store.Put(rec); err != nil {
		g.Log.Error("gate: store admission", "err", err)
	}
	d.Admit = true
	g.open(ctx)
	if rec.State == ScanPending {
		g.Kick()
	}
	return d
}

// open pulses the relay without holding up the next decision; pulses
// never overlap.
func (g *Gate) open(ctx context.Context) {
	if g.Relay == nil {
		return
	}
	g.pulseMu.Lock()
	go func() {
		defer g.pulseMu.Unlock()
		if err := g.Relay.Pulse(context.WithoutCancel(ctx), g.Pulse); err != nil {
			g.Log.Error("gate: relay pulse", "err", err)
		}
	}()
}

// Kick asks the uploader to try now.
func (g *Gate) Kick() {
	g.init()
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// RunUploader sends admissions the server has not confirmed, in batches,
// retrying with exponential backoff until ctx ends.
func (g *Gate) RunUploader(ctx context.Context) {
	g.init()
	delay := g.Backoff
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		failed := false
		for {
			batch := g.Store.Pending(500)
			if len(batch) == 0 {
				break
			}
			if err := g.upload(ctx, batch); err != nil {
				g.Log.Info("gate: upload postponed", "pending", len(batch), "retry_in", delay, "err", err)
				failed = true
				break
			}
		}
		if failed {
			// While backing off, new scans do not trigger attempts.
			timer.Reset(delay)
			delay = min(delay*2, g.MaxBackoff)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
			continue
		}
		delay = g.Backoff
		timer.Reset(g.MaxBackoff)
		select {
		case <-g.kick:
		case <-timer.C:
		case <-ctx.Done():
			return
		}
	}
}

func (g *Gate) upload(ctx context.Context, batch []ScanRecord) error {
	rs := make([]Redemption, len(batch))
	for i, r := range batch {
		rs[i] = Redemption{QR: r.QR, Nonce: r.Nonce, ScannedAt: r.ScannedAt, Offline: r.Offline}
	}
	uctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res, err := g.Client.Redeem(uctx, rs)
	if err != nil {
		return err
	}
	byNonce := make(map[string]RedemptionResult, len(res))
	for _, r := range res {
		byNonce[r.Nonce] = r
	}
	for _, rec := range batch {
		r, ok := byNonce[rec.Nonce]
		if !ok {
			continue
		}
		switch r.Result {
		case ScanAdmitted:
			rec.State = ScanAdmitted
		case ScanFlagged:
			rec.State, rec.Reason = ScanFlagged, r.Reason
			g.Log.Warn("gate: admitted offline a ticket that is not valid; recorded for staff", "code", rec.Code, "reason", r.Reason)
		default:
			rec.State, rec.Reason, rec.FirstEntry = ScanRefused, r.Reason, r.FirstScannedAt
			g.Log.Warn("gate: server refused a scan admitted offline", "code", rec.Code, "reason", r.Reason)
		}
		if err := g.Store.Put(rec); err != nil {
			return err
		}
	}
	return nil
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
