package booking_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// The linearizability check records concurrent histories of holds,
// releases, bookings, cancellations and clock ticks on one slot against
// real Redis and PostgreSQL, and asks porcupine whether some sequential
// order of them is explained by slotModel. `make test` checks a few
// histories per Redis deployment; -porcupine.seeds=N or
// TERMIN_PORCUPINE_LONG=1 check many more.
var porcupineSeeds = flag.Int("porcupine.seeds", 0, "histories per Redis deployment for the linearizability check (0: a short run, or 400 with TERMIN_PORCUPINE_LONG=1)")

const (
	lzCapacity = 3
	lzHoldTTL  = time.Minute
	lzTick     = 20 * time.Second
	lzClients  = 4
	lzSessions = 6
	// lzBudget bounds the short run of one Redis deployment; histories
	// are only started while it lasts.
	lzBudget = 6 * time.Second
)

// slotInput is one operation on the slot. Ids that are only known once an
// operation returns (the hold id, the booking code) are in slotOutput.
type slotInput struct {
	Kind  string // hold, release, book, cancel, tick
	Units int    // hold
	ID    string // release, book: hold id; cancel: booking code
	To    int64  // tick: the new clock, unix ms
}

type slotOutput struct {
	Outcome string // ok, slot_full, hold_expired, hold_used, or an unexpected error
	ID      string // hold: the hold id; book: the booking code
	Expires int64  // hold: expiry, unix ms
	// Now is the clock reading the operation's Redis script ran with; it
	// decides which holds the script swept as expired.
	Now int64
}

type heldUnits struct {
	Units   int
	Expires int64
}

// slotState is the sequential specification of one slot: live holds with
// their expiry, hold ids that became bookings, bookings with their units.
type slotState struct {
	Clock  int64
	Holds  map[string]heldUnits
	Used   map[string]bool
	Booked map[string]int
}

func (s slotState) free() int {
	n := lzCapacity
	for _, h := range s.Holds {
		n -= h.Units
	}
	for _, u := range s.Booked {
		n -= u
	}
	return n
}

func (s slotState) clone() slotState {
	return slotState{Clock: s.Clock, Holds: maps.Clone(s.Holds), Used: maps.Clone(s.Used), Booked: maps.Clone(s.Booked)}
}

// sweep drops the holds that expired by now, as every script does first.
func (s slotState) sweep(now int64) {
	for id, h := range s.Holds {
		if h.Expires <= now {
			delete(s.Holds, id)
		}
	}
}

// slotModel is the sequential specification porcupine checks against. A
// hold is booked by one client only, its owner, so a Book is linearized at
// its claim in Redis: from there the hold can neither lapse (ConfirmGrace
// is a day here) nor be released, and the booking is bound to commit.
var slotModel = porcupine.Model{
	Init: func() any {
		return slotState{Holds: map[string]heldUnits{}, Used: map[string]bool{}, Booked: map[string]int{}}
	},
	Step: func(state, input, output any) (bool, any) {
		return slotStep(state.(slotState), input.(slotInput), output.(slotOutput))
	},
	Equal: func(a, b any) bool { return reflect.DeepEqual(a, b) },
	DescribeOperation: func(input, output any) string {
		in, out := input.(slotInput), output.(slotOutput)
		short := func(id string) string {
			if i := strings.LastIndex(id, "."); i >= 0 {
				return id[i+1:][:6]
			}
			return id
		}
		switch in.Kind {
		case "tick":
			return fmt.Sprintf("tick → %s", time.UnixMilli(in.To).UTC().Format("15:04:05"))
		case "hold":
			return fmt.Sprintf("hold(%d) @%s → %s %s", in.Units, time.UnixMilli(out.Now).UTC().Format("15:04:05"), out.Outcome, short(out.ID))
		default:
			return fmt.Sprintf("%s(%s) @%s → %s %s", in.Kind, short(in.ID), time.UnixMilli(out.Now).UTC().Format("15:04:05"), out.Outcome, out.ID)
		}
	},
	DescribeState: func(state any) string {
		s := state.(slotState)
		return fmt.Sprintf("clock %s, free %d, holds %v, booked %v",
			time.UnixMilli(s.Clock).UTC().Format("15:04:05"), s.free(), s.Holds, s.Booked)
	},
}

// slotStep is the deterministic part of slotModel: whether the operation
// could return out in state s, and the state after it.
func slotStep(s slotState, in slotInput, out slotOutput) (bool, slotState) {
	if in.Kind == "tick" {
		next := s.clone()
		next.Clock = in.To
		return out.Outcome == "ok" && in.To >= s.Clock, next
	}
	// The clock is shared state too: an operation cannot have read
	// a time no tick before it set.
	if out.Now > s.Clock {
		return false, s
	}
	next := s.clone()
	next.sweep(out.Now)
	switch in.Kind {
	case "hold":
		switch out.Outcome {
		case "ok":
			if next.free() < in.Units || out.Expires != out.Now+lzHoldTTL.Milliseconds() {
				return false, s
			}
			if _, dup := next.Holds[out.ID]; dup || next.Used[out.ID] {
				return false, s
			}
			next.Holds[out.ID] = heldUnits{in.Units, out.Expires}
			return true, next
		case "slot_full":
			return next.free() < in.Units, next
		}
	case "release":
		delete(next.Holds, in.ID)
		return out.Outcome == "ok", next
	case "book":
		h, live := next.Holds[in.ID]
		switch {
		case next.Used[in.ID]:
			return out.Outcome == "hold_used", next
		case live:
			if out.Outcome != "ok" {
				return false, s
			}
			delete(next.Holds, in.ID)
			next.Used[in.ID] = true
			next.Booked[out.ID] = h.Units
			return true, next
		default:
			return out.Outcome == "hold_expired", next
		}
	case "cancel":
		delete(next.Booked, in.ID)
		return out.Outcome == "ok", next
	}
	return false, s
}

// outcome names an operation's error the way the API does.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, booking.ErrSlotFull):
		return "slot_full"
	case errors.Is(err, booking.ErrHoldExpired):
		return "hold_expired"
	case errors.Is(err, booking.ErrHoldUsed):
		return "hold_used"
	}
	return "error: " + err.Error()
}

// history collects operations from concurrent clients.
type history struct {
	base time.Time
	mu   sync.Mutex
	ops  []porcupine.Operation
}

func (h *history) stamp() int64 { return time.Since(h.base).Nanoseconds() }

func (h *history) add(client int, in slotInput, call int64, out slotOutput) {
	op := porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: h.stamp()}
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// pool shares hold ids between clients, so a client sometimes releases a
// hold another is booking (two browser tabs of one citizen).
type pool struct {
	mu  sync.Mutex
	ids []string
}

func (p *pool) put(id string) {
	p.mu.Lock()
	p.ids = append(p.ids, id)
	p.mu.Unlock()
}

func (p *pool) pick(rng *rand.Rand) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ids) == 0 {
		return "", false
	}
	return p.ids[rng.IntN(len(p.ids))], true
}

// recordHistory runs lzClients clients and a clock ticker on the slot at
// start and returns what they saw.
func (r *rig) recordHistory(t *testing.T, seed uint64, start time.Time) []porcupine.Operation {
	ctx := context.Background()
	svc := r.svc("ticket")
	var clock atomic.Int64
	clock.Store(start.Add(-3 * time.Hour).UnixMilli())
	d := booking.DateOf(start.In(r.tz))
	if err := r.engine.LoadDay(ctx, r.loc, r.tz, d); err != nil {
		t.Fatal(err)
	}
	h := &history{base: time.Now()}
	// The first tick sets the model's clock to where this history starts.
	h.add(lzClients, slotInput{Kind: "tick", To: clock.Load()}, h.stamp(), slotOutput{Outcome: "ok"})
	shared := &pool{}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for c := 0; c < lzClients; c++ {
		// Every client has an engine of its own, as every server replica
		// has; its clock remembers the last reading, which is the one the
		// operation's script ran with.
		e := r.newEngine()
		e.HoldTTL = lzHoldTTL
		// A claimed hold must not lapse while its booking is written; the
		// whole history spans less than a day of clock.
		e.ConfirmGrace = 24 * time.Hour
		var last int64
		e.Now = func() time.Time {
			last = clock.Load()
			return time.UnixMilli(last)
		}
		rng := rand.New(rand.NewPCG(seed, uint64(c)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			book := func(id string) (*booking.Confirmation, error) {
				call := h.stamp()
				conf, err := e.Book(ctx, id, someone, booking.BookOptions{})
				out := slotOutput{Outcome: outcome(err), Now: last}
				if err == nil {
					out.ID = conf.Booking.Code
				}
				h.add(c, slotInput{Kind: "book", ID: id}, call, out)
				return conf, err
			}
			release := func(id string) {
				call := h.stamp()
				err := e.ReleaseHold(ctx, id)
				h.add(c, slotInput{Kind: "release", ID: id}, call, slotOutput{Outcome: outcome(err), Now: last})
			}
			for s := 0; s < lzSessions; s++ {
				units := 1 + rng.IntN(2)
				call := h.stamp()
				hold, err := e.PlaceHold(ctx, r.loc.ID, svc, start, units)
				out := slotOutput{Outcome: outcome(err), Now: last}
				if err == nil {
					out.ID, out.Expires = hold.ID, hold.ExpiresAt.UnixMilli()
					shared.put(hold.ID)
				}
				h.add(c, slotInput{Kind: "hold", Units: units}, call, out)
				switch k := rng.IntN(10); {
				case err != nil:
				case k < 5:
					conf, err := book(hold.ID)
					if err == nil && rng.IntN(3) == 0 {
						call := h.stamp()
						_, err := e.Cancel(ctx, conf.Booking.Code, conf.ManageToken, nil)
						h.add(c, slotInput{Kind: "cancel", ID: conf.Booking.Code}, call, slotOutput{Outcome: outcome(err), Now: last})
					}
				case k < 7:
					release(hold.ID)
				default:
					// walk away; the hold expires
				}
				if rng.IntN(4) == 0 {
					if id, ok := shared.pick(rng); ok {
						release(id)
					}
				}
			}
		}()
	}
	// The ticker moves the shared clock; holds live for three ticks.
	var tickWG sync.WaitGroup
	tickWG.Add(1)
	go func() {
		defer tickWG.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			call := h.stamp()
			to := clock.Load() + lzTick.Milliseconds()
			clock.Store(to)
			h.add(lzClients, slotInput{Kind: "tick", To: to}, call, slotOutput{Outcome: "ok"})
		}
	}()
	wg.Wait()
	close(done)
	tickWG.Wait()
	return h.ops
}

func TestSlotIsLinearizable(t *testing.T) {
	seeds, budget := *porcupineSeeds, time.Duration(0)
	switch {
	case seeds > 0:
	case os.Getenv("TERMIN_PORCUPINE_LONG") != "":
		seeds = 400
	default:
		seeds, budget = 100, lzBudget
	}
	model := slotModel
	onEachBackend(t, func(t *testing.T, b servicetest.Backend) {
		began := time.Now()
		var r *rig
		checked, ops := 0, 0
		for seed := 0; seed < seeds; seed++ {
			if budget > 0 && time.Since(began) > budget {
				break
			}
			// One slot per history, each on a day of its own, so a
			// history's clock never meets another's holds; a new location
			// once the booking horizon is used up.
			day := seed % 25
			if day == 0 {
				r = newRig(t, b, lzCapacity, 90, booking.Service{ID: "ticket", DurationMinutes: 90, MaxUnits: 2})
			}
			start := r.at(10, 0).AddDate(0, 0, day)
			hist := r.recordHistory(t, uint64(seed), start)
			for _, op := range hist {
				if out := op.Output.(slotOutput); strings.HasPrefix(out.Outcome, "error") {
					t.Errorf("seed %d: %s: %s", seed, op.Input.(slotInput).Kind, out.Outcome)
				}
			}
			res := porcupine.CheckOperationsTimeout(model, hist, 30*time.Second)
			if res != porcupine.Ok {
				t.Errorf("seed %d: history of %d operations is %s", seed, len(hist), res)
				_, info := porcupine.CheckOperationsVerbose(model, hist, 30*time.Second)
				f, err := os.CreateTemp("", "termin-slot-history-*.html")
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				if err := porcupine.VisualizePath(model, info, f.Name()); err != nil {
					t.Fatalf("visualize: %v", err)
				}
				t.Errorf("seed %d: visualization in %s", seed, f.Name())
				return
			}
			checked++
			ops += len(hist)
		}
		t.Logf("%d histories (%d operations) linearizable in %s", checked, ops, time.Since(began).Round(time.Millisecond))
		if checked == 0 {
			t.Fatal("no history checked")
		}
	})
}
