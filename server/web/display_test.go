package web

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// TestDisplayState: the call display gets numbers, desks and call times
// only, the newest call first, at most displayCalls of them, and how many
// wait.
func TestDisplayState(t *testing.T) {
	h := &Handler{}
	at := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	desk, svc, bookingID := "3", "personalausweis", int64(42)
	var ts []booking.QueueTicket
	for i := range displayCalls + 2 {
		called := at.Add(-time.Duration(i) * time.Minute)
		ts = append(ts, booking.QueueTicket{Number: "A0" + string(rune('0'+i)), State: booking.QueueCalled, Desk: &desk,
			CalledAt: &at, LastCalledAt: &called, ServiceID: &svc, BookingID: &bookingID})
	}
	ts = append(ts, booking.QueueTicket{Number: "A100", State: booking.QueueWaiting}, booking.QueueTicket{Number: "A101", State: booking.QueueServed})
	for lang, want := range map[string]struct{ desk, waiting string }{"de": {"Schalter 3", "1 Person wartet."}, "en": {"Desk 3", "1 person is waiting."}} {
		st := h.displayStateOf(textsFor(lang), ts)
		if len(st.Calls) != displayCalls || st.Calls[0].Number != "A00" || st.Calls[0].At != at.UnixMilli() || st.Calls[0].DeskText != want.desk {
			t.Fatalf("%s: %+v", lang, st)
		}
		if st.Waiting != 1 || st.WaitingText != want.waiting {
			t.Fatalf("%s: waiting %d %q", lang, st.Waiting, st.WaitingText)
		}
		b, _ := json.Marshal(st)
		for _, leak := range []string{"personalausweis", "42"} {
			if strings.Contains(string(b), leak) {
				t.Fatalf("the display's state carries %q: %s", leak, b)
			}
		}
	}
	if st := h.displayStateOf(textsFor("de"), nil); st.Calls == nil || st.WaitingText != "Niemand wartet." {
		t.Fatalf("an empty queue: %+v", st)
	}
}

func TestTicketState(t *testing.T) {
	h := &Handler{Now: func() time.Time { return time.Date(2030, 1, 7, 9, 5, 0, 0, time.UTC) }}
	desk := "4"
	for _, c := range []struct {
		tk   booking.QueueTicket
		want ticketState
	}{
		{booking.QueueTicket{State: booking.QueueWaiting, Ahead: 4, EstimatedWait: 11*time.Minute + time.Second},
			ticketState{State: "waiting", Ahead: "4 Personen vor Ihnen", Estimate: "etwa 12 Minuten Wartezeit"}},
		{booking.QueueTicket{State: booking.QueueWaiting}, ticketState{State: "waiting", Ahead: "Niemand vor Ihnen – Sie sind als Nächstes dran."}},
		{booking.QueueTicket{State: booking.QueueCalled, Desk: &desk}, ticketState{State: "called", Called: "Sie sind aufgerufen: bitte gehen Sie zu Schalter 4."}},
		{booking.QueueTicket{State: booking.QueueNoShow}, ticketState{State: "no_show", Done: "Diese Nummer ist erledigt."}},
	} {
		got := h.ticketStateOf(textsFor("de"), time.UTC, &c.tk)
		if !strings.HasPrefix(got.AsOf, "Stand 09:05") {
			t.Errorf("as of %q", got.AsOf)
		}
		got.AsOf = ""
		if got != c.want {
			t.Errorf("%+v: %+v, want %+v", c.tk, got, c.want)
		}
	}
}

func TestDeskNotice(t *testing.T) {
	de := textsFor("de")
	for _, c := range []struct{ ok, nr, problem, want string }{
		{"aufgerufen", "A017", "", "A017 ist zu Schalter 3 aufgerufen."},
		{"aufgerufen", "<script>", "", " ist zu Schalter 3 aufgerufen."},
		{"", "", "leer", "Niemand wartet."},
		{"", "", "unbekannt", ""},
	} {
		if got := deskNotice(de, c.ok, c.nr, c.problem, "3"); got != c.want {
			t.Errorf("%+v: %q", c, got)
		}
	}
}

type countingBoard struct {
	QueuePositions
	mu    sync.Mutex
	reads int
}

func (q *countingBoard) Board(context.Context, string) ([]booking.QueueTicket, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reads++
	return []booking.QueueTicket{{Number: "A001", State: booking.QueueWaiting}}, nil
}

type versionOnly struct {
	LiveQueue
	v atomic.Uint64
}

func (l *versionOnly) Version(string) uint64 { return l.v.Load() }

// TestBoardIsSharedPerChange: the streams of a location woken by one
// change read the queue once between them.
func TestBoardIsSharedPerChange(t *testing.T) {
	q, live := &countingBoard{}, &versionOnly{}
	h := &Handler{Queue: q, Live: live}
	read := func() {
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ts, err := h.board(context.Background(), "amt", false); err != nil || len(ts) != 1 {
					t.Error(ts, err)
				}
			}()
		}
		wg.Wait()
	}
	read()
	if q.reads != 1 {
		t.Fatalf("%d reads for 50 streams, want 1", q.reads)
	}
	live.v.Add(1)
	read()
	if q.reads != 2 {
		t.Fatalf("%d reads after one change, want 2", q.reads)
	}
	// A stream's first state is read afresh.
	if _, err := h.board(context.Background(), "amt", true); err != nil || q.reads != 3 {
		t.Fatalf("a fresh read: %d reads, %v", q.reads, err)
	}
}
