package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// deskMonday is a Monday morning the Bürgeramt is open: the tests pin
// every replica's clock to it.
var deskMonday = time.Date(2030, time.January, 7, 9, 25, 0, 0, berlinZone)

const deskOffice = "buergeramt-koblenz"

// startReplicas runs two servers on one PostgreSQL database and one Redis,
// as replicas behind a load balancer.
func startReplicas(t *testing.T, flags ...string) (a, b *testServer) {
	t.Helper()
	rdb := servicetest.Redis(t)
	setup := serverSetup{
		dbURL: servicetest.DatabaseURL(t, components...), redisAddrs: []string{rdb.Options().Addr},
		pool: "stadtbad", rdb: rdb, flags: flags,
	}
	a, b = launch(t, setup), launch(t, setup)
	a.clockAt(deskMonday)
	b.clockAt(deskMonday)
	return a, b
}

// sseEvent is one server-sent event.
type sseEvent struct {
	Name, Data string
}

// eventStream reads a server-sent event stream in the background.
type eventStream struct {
	t      *testing.T
	res    *http.Response
	events chan sseEvent
	// retry is the reconnect delay the stream asked for, once read.
	retry    chan string
	comments chan string
	cancel   context.CancelFunc
}

// streamClient reads event streams: no overall timeout (a stream is
// long), and no API check (the streams are pages' routes).
var streamClient = &http.Client{}

func openEvents(t *testing.T, url, lang string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Accept-Language", lang)
	res, err := streamClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &eventStream{t: t, res: res, events: make(chan sseEvent, 64), retry: make(chan string, 1),
		comments: make(chan string, 64), cancel: cancel}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Data != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				select {
				case s.comments <- line:
				default:
				}
			case strings.HasPrefix(line, "retry: "):
				select {
				case s.retry <- strings.TrimPrefix(line, "retry: "):
				default:
				}
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

// close drops the connection, as a network loss does.
func (s *eventStream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next returns the next event; it fails the test after timeout.
func (s *eventStream) next(timeout time.Duration) sseEvent {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatal("the event stream ended")
		}
		return ev
	case <-time.After(timeout):
		s.t.Fatalf("no event within %v", timeout)
	}
	return sseEvent{}
}

type displayOut struct {
	Calls []struct {
		Number   string
		Desk     string
		DeskText string `json:"desk_text"`
		At       int64
	}
	Waiting     int
	WaitingText string `json:"waiting_text"`
}

// until reads display events until one satisfies ok and returns it.
func (s *eventStream) until(timeout time.Duration, ok func(displayOut) bool) displayOut {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			s.t.Fatalf("no matching display event within %v", timeout)
		}
		ev := s.next(left)
		var d displayOut
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil || ev.Name != "queue" {
			s.t.Fatalf("event %q %q: %v", ev.Name, ev.Data, err)
		}
		if ok(d) {
			return d
		}
	}
}

type ticketStateOut struct {
	State, Ahead, Estimate, Called, Done string
}

func (s *eventStream) ticketUntil(timeout time.Duration, ok func(ticketStateOut) bool) ticketStateOut {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			s.t.Fatalf("no matching ticket event within %v", timeout)
		}
		var st ticketStateOut
		ev := s.next(left)
		if err := json.Unmarshal([]byte(ev.Data), &st); err != nil {
			s.t.Fatalf("event %q: %v", ev.Data, err)
		}
		if ok(st) {
			return st
		}
	}
}

func topIs(number string) func(displayOut) bool {
	return func(d displayOut) bool { return len(d.Calls) > 0 && d.Calls[0].Number == number }
}

// walkIns draws n walk-in numbers at the kiosk of the office.
func (s *testServer) walkIns(t *testing.T, token string, n int) []string {
	t.Helper()
	var numbers []string
	for range n {
		res := s.do(t, "POST", "/api/v1/kiosk/walk-ins", `{"service":"meldebescheinigung"}`, "Authorization", "Bearer "+token)
		if res.Status != 201 {
			t.Fatalf("walk-in: %d %s", res.Status, res.Body)
		}
		var tk ticketOut
		res.decode(t, &tk)
		numbers = append(numbers, tk.Number)
	}
	return numbers
}

type deskTicketOut struct {
	ID              int64
	Number          string
	State           string
	Desk            *string
	Service         string
	Recalls         int
	TransferredFrom string `json:"transferred_from"`
}

func (s *testServer) deskPost(t *testing.T, path, body string, want int) deskTicketOut {
	t.Helper()
	res := s.do(t, "POST", "/api/v1/staff/locations/"+deskOffice+path, body, "Authorization", "Bearer "+testAdminKey)
	if res.Status != want {
		t.Fatalf("POST %s: %d %s, want %d", path, res.Status, res.Body, want)
	}
	var out deskTicketOut
	if want == 200 {
		res.decode(t, &out)
	}
	return out
}

// TestCallReachesDisplayOnOtherReplica: a desk calls on replica A, and the
// call display and the ticket page served by replica B show it within a
// second; recall, transfer and no-show through the JSON API reach B the
// same way.
func TestCallReachesDisplayOnOtherReplica(t *testing.T) {
	a, b := startReplicas(t, "-admin-api-key", testAdminKey)
	kiosk := a.enrolledDevice(t, deskOffice, "counter")
	first := a.walkIns(t, kiosk, 2)

	display := openEvents(t, b.URL+"/display/"+deskOffice+"/events", "de")
	select {
	case r := <-display.retry:
		if r != "2000" {
			t.Fatalf("retry %s, want 2000", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the stream sent no retry interval")
	}
	if d := display.until(2*time.Second, func(displayOut) bool { return true }); d.Waiting != 2 || len(d.Calls) != 0 {
		t.Fatalf("first state %+v, want 2 waiting and no calls", d)
	}
	ticket := openEvents(t, b.URL+"/warten/"+deskOffice+"/"+strings.ToLower(first[1])+"/events", "de")
	if st := ticket.ticketUntil(2*time.Second, func(ticketStateOut) bool { return true }); st.State != "waiting" || st.Ahead != "1 Person vor Ihnen" {
		t.Fatalf("ticket's first state %+v", st)
	}
	// B's listener connects in the background: the next walk-in on A
	// shows that it hears A's changes.
	third := a.walkIns(t, kiosk, 1)[0]
	display.until(5*time.Second, func(d displayOut) bool { return d.Waiting == 3 })

	for i, want := range first {
		called := a.deskPost(t, "/call", `{"desk":"3"}`, 200)
		if called.Number != want {
			t.Fatalf("called %s, want %s", called.Number, want)
		}
		d := display.until(2*time.Second, topIs(want))
		// The call's time is PostgreSQL's clock, on this machine.
		if took := time.Since(time.UnixMilli(d.Calls[0].At)); took > time.Second {
			t.Fatalf("call %d reached the other replica's display %v after it was made", i, took)
		}
		if d.Calls[0].Desk != "3" || d.Calls[0].DeskText != "Schalter 3" {
			t.Fatalf("display %+v", d)
		}
		if i == 0 {
			st := ticket.ticketUntil(3*time.Second, func(st ticketStateOut) bool { return st.Ahead != "1 Person vor Ihnen" })
			if st.State != "waiting" || !strings.HasPrefix(st.Ahead, "Niemand vor Ihnen") {
				t.Fatalf("ticket after the call before it: %+v", st)
			}
		}
	}
	st := ticket.ticketUntil(3*time.Second, func(st ticketStateOut) bool { return st.State == "called" })
	if st.Called != "Sie sind aufgerufen: bitte gehen Sie zu Schalter 3." {
		t.Fatalf("ticket when called: %+v", st)
	}

	// The first number did not come: a recall puts it on top again.
	tickets := a.deskTickets(t)
	recalled := a.deskPost(t, fmt.Sprintf("/tickets/%d/recall", tickets[first[0]]), `{"desk":"3"}`, 200)
	if recalled.Recalls != 1 || recalled.State != "called" {
		t.Fatalf("recall: %+v", recalled)
	}
	d := display.until(3*time.Second, topIs(first[0]))
	if len(d.Calls) != 2 || d.Calls[1].Number != first[1] {
		t.Fatalf("after the recall: %+v", d)
	}
	a.deskPost(t, fmt.Sprintf("/tickets/%d/recall", tickets[first[0]]), `{"desk":"<b>"}`, 400)

	// The second number needs a passport: transferred, it waits again
	// with its number, before the third who came later.
	moved := a.deskPost(t, fmt.Sprintf("/tickets/%d/transfer", tickets[first[1]]), `{"service":"reisepass"}`, 200)
	if moved.State != "waiting" || moved.Service != "reisepass" || moved.TransferredFrom != "meldebescheinigung" || moved.Desk != nil {
		t.Fatalf("transfer: %+v", moved)
	}
	display.until(3*time.Second, func(d displayOut) bool { return len(d.Calls) == 1 && d.Waiting == 2 })
	a.deskPost(t, fmt.Sprintf("/tickets/%d/transfer", tickets[first[1]]), `{"service":"reisepass"}`, 409)
	a.deskPost(t, fmt.Sprintf("/tickets/%d/transfer", tickets[first[0]]), `{"service":"schwimmen"}`, 404)
	if next := a.deskPost(t, "/call", `{"desk":"4"}`, 200); next.Number != first[1] {
		t.Fatalf("after the transfer %s was called, want %s before %s", next.Number, first[1], third)
	}

	a.deskPost(t, fmt.Sprintf("/tickets/%d/finish", tickets[first[0]]), `{"state":"no_show"}`, 200)
	display.until(3*time.Second, func(d displayOut) bool { return len(d.Calls) == 1 && d.Calls[0].Number == first[1] })
	a.deskPost(t, fmt.Sprintf("/tickets/%d/recall", tickets[first[0]]), `{"desk":"3"}`, 409)
	a.deskPost(t, "/tickets/99999999/recall", `{"desk":"3"}`, 404)
}

// deskTickets maps today's numbers of the office to their ticket ids.
func (s *testServer) deskTickets(t *testing.T) map[string]int64 {
	t.Helper()
	res := s.do(t, "GET", "/api/v1/staff/locations/"+deskOffice+"/queue", "", "Authorization", "Bearer "+testAdminKey)
	if res.Status != 200 {
		t.Fatalf("queue: %d %s", res.Status, res.Body)
	}
	var q struct{ Tickets []deskTicketOut }
	res.decode(t, &q)
	out := map[string]int64{}
	for _, tk := range q.Tickets {
		out[tk.Number] = tk.ID
	}
	return out
}

// TestDisplayStreamReconnects: a display whose connection dropped gets the
// current state when it connects again, with the calls it missed; the
// server notices the dropped client at its next keep-alive.
func TestDisplayStreamReconnects(t *testing.T) {
	a, b := startReplicas(t, "-admin-api-key", testAdminKey, "-event-keepalive", "100ms")
	kiosk := a.enrolledDevice(t, deskOffice, "counter")
	numbers := a.walkIns(t, kiosk, 2)
	display := openEvents(t, b.URL+"/display/"+deskOffice+"/events", "en")
	display.until(2*time.Second, func(d displayOut) bool { return d.Waiting == 2 })
	select {
	case c := <-display.comments:
		if c != ": keep-alive" {
			t.Fatalf("comment %q", c)
		}
	case <-time.After(time.Second):
		t.Fatal("no keep-alive comment within a second")
	}
	display.close()
	servicetest.Eventually(t, "the dropped stream's subscription to end", 3*time.Second, func() bool {
		return b.deps.live.Subscribers() == 0
	})

	a.deskPost(t, "/call", `{"desk":"7"}`, 200)
	again := openEvents(t, b.URL+"/display/"+deskOffice+"/events", "en")
	d := again.until(3*time.Second, func(displayOut) bool { return true })
	if len(d.Calls) != 1 || d.Calls[0].Number != numbers[0] || d.Calls[0].DeskText != "Desk 7" || d.WaitingText != "1 person is waiting." {
		t.Fatalf("state on reconnect: %+v", d)
	}
}

// TestEventStreamsEndOnShutdown: a graceful shutdown ends the open event
// streams at once and leaves none of their goroutines behind.
func TestEventStreamsEndOnShutdown(t *testing.T) {
	s := startServer(t, "-admin-api-key", testAdminKey)
	s.clockAt(deskMonday)
	kiosk := s.enrolledDevice(t, deskOffice, "counter")
	number := s.walkIns(t, kiosk, 1)[0]
	before := runtime.NumGoroutine()
	var streams []*eventStream
	for _, path := range []string{"/display/" + deskOffice + "/events", "/display/" + deskOffice + "/events", "/warten/" + deskOffice + "/" + number + "/events"} {
		st := openEvents(t, s.URL+path, "de")
		st.next(2 * time.Second)
		streams = append(streams, st)
	}
	if n := s.deps.live.Subscribers(); n != 3 {
		t.Fatalf("%d subscriptions, want 3", n)
	}
	start := time.Now()
	if err := s.app.ShutdownWithTimeout(5 * time.Second); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("shutdown with open streams took %v", took)
	}
	for i, st := range streams {
		select {
		case _, ok := <-st.events:
			for ok {
				_, ok = <-st.events
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("stream %d still open after the shutdown", i)
		}
	}
	if n := s.deps.live.Subscribers(); n != 0 {
		t.Fatalf("%d subscriptions after the shutdown", n)
	}
	for _, st := range streams {
		st.close()
	}
	servicetest.Eventually(t, fmt.Sprintf("goroutines back to %d", before), 5*time.Second, func() bool {
		return runtime.NumGoroutine() <= before
	})
}
