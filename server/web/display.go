package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
)

// LiveQueue signals the changes of a location's queue, whichever replica
// made them: the event streams of the call display, the ticket page and
// the desk view read their state again on each signal.
type LiveQueue interface {
	// Subscribe returns a channel signalled after changes of the
	// location's queue and the function that ends the subscription.
	Subscribe(location string) (<-chan struct{}, func())
	// Done is closed when the server shuts down: every stream ends.
	Done() <-chan struct{}
	// Version counts the changes of the location heard so far: a state
	// read at one version is shared by the streams until it moves.
	Version(location string) uint64
}

// boards shares the live pages' reads: all streams of a location are
// woken by one change and read one board, once per change and replica
// however many screens and phones follow it.
type boards struct {
	mu sync.Mutex
	m  map[string]*boardEntry
}

type boardEntry struct {
	mu      sync.Mutex
	read    bool
	version uint64
	tickets []booking.QueueTicket
}

// board returns the location's tickets with the people ahead and the
// wait of each waiting one, read again only after a change, or when
// fresh (a stream's first state: a change this replica has not heard of
// yet must not be missing from it). The tickets are shared: read them,
// never change them.
func (h *Handler) board(ctx context.Context, location string, fresh bool) ([]booking.QueueTicket, error) {
	h.boards.mu.Lock()
	if h.boards.m == nil {
		h.boards.m = map[string]*boardEntry{}
	}
	e := h.boards.m[location]
	if e == nil {
		e = &boardEntry{}
		h.boards.m[location] = e
	}
	h.boards.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	// The version is taken before the read: a change during it moves the
	// version, and the next reader reads again.
	v := h.Live.Version(location)
	if e.read && e.version == v && !fresh {
		return e.tickets, nil
	}
	ts, err := h.Queue.Board(ctx, location)
	if err != nil {
		return nil, err
	}
	e.read, e.version, e.tickets = true, v, ts
	return ts, nil
}

// displayCalls is how many called numbers the call display shows: the
// newest large, the others in a list.
const displayCalls = 8

// Event stream timing.
const (
	// eventRetry is the reconnect delay the stream asks the browser for
	// after a network loss.
	eventRetry = 2 * time.Second
	// defaultKeepAlive spaces the keep-alive comments unless KeepAlive
	// says otherwise.
	defaultKeepAlive = 15 * time.Second
	// displayRefresh is the reload interval of the call display without
	// JavaScript.
	displayRefresh = 5
)

// displayCall is one called number on the call display: numbers and
// desks, nothing about the person.
type displayCall struct {
	Number string `json:"number"`
	Desk   string `json:"desk"`
	// DeskText is "Schalter 3" in the page's language.
	DeskText string `json:"desk_text"`
	// At is the call's time in Unix milliseconds: a recall of the same
	// number is a new call, highlighted (and chimed) again.
	At int64 `json:"at"`
}

// displayState is what the call display shows and its event stream
// sends.
type displayState struct {
	Calls       []displayCall `json:"calls"`
	Waiting     int           `json:"waiting"`
	WaitingText string        `json:"waiting_text"`
}

func (h *Handler) displayStateOf(t texts, ts []booking.QueueTicket) displayState {
	st := displayState{Calls: []displayCall{}}
	for _, tk := range ts {
		switch {
		case tk.State == booking.QueueCalled && tk.Desk != nil && len(st.Calls) < displayCalls:
			at := tk.LastCalledAt
			if at == nil {
				at = tk.CalledAt
			}
			c := displayCall{Number: tk.Number, Desk: *tk.Desk, DeskText: t.f("display_desk", *tk.Desk)}
			if at != nil {
				c.At = at.UnixMilli()
			}
			st.Calls = append(st.Calls, c)
		case tk.State == booking.QueueWaiting:
			st.Waiting++
		}
	}
	switch st.Waiting {
	case 0:
		st.WaitingText = t.get("display_waiting_0")
	case 1:
		st.WaitingText = t.get("display_waiting_1")
	default:
		st.WaitingText = t.f("display_waiting_n", st.Waiting)
	}
	return st
}

type displayData struct {
	Location string
	Name     string
	Events   string
	Refresh  int
	Latest   *displayCall
	Earlier  []displayCall
	State    displayState
}

// display is the waiting room's call display: the newest call large and
// highlighted, the earlier ones below, updated by its event stream, or
// without JavaScript by reloading every few seconds. No login, no
// personal data.
func (h *Handler) display(c *fiber.Ctx) error {
	loc, _, err := h.Catalog.Location(c.Params("location"))
	if err != nil || loc.Kind != booking.KindOffice || h.Queue == nil {
		return h.notFound(c)
	}
	v := h.newView(c, "display_title", stepNone)
	ts, err := h.Queue.Today(c.UserContext(), loc.ID)
	if err != nil {
		return err
	}
	st := h.displayStateOf(v.texts, ts)
	d := displayData{Location: loc.ID, Name: loc.Name, Refresh: displayRefresh, State: st}
	if h.Live != nil {
		d.Events = "/display/" + loc.ID + "/events"
	}
	if len(st.Calls) > 0 {
		d.Latest, d.Earlier = &st.Calls[0], st.Calls[1:]
	}
	v.Title = v.texts.get("display_title") + " – " + loc.Name
	v.D = d
	v.Page = "display"
	c.Set(fiber.HeaderCacheControl, "no-store")
	var buf bytes.Buffer
	if err := pages["display"].ExecuteTemplate(&buf, "display", v); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}

// displayEvents streams the call display's state: at once (also after a
// reconnect) and after every change of the location's queue.
func (h *Handler) displayEvents(c *fiber.Ctx) error {
	loc, _, err := h.Catalog.Location(c.Params("location"))
	if err != nil || loc.Kind != booking.KindOffice {
		return h.notFound(c)
	}
	t := textsFor(lang(c))
	return h.stream(c, loc.ID, func(ctx context.Context, first bool) (any, error) {
		ts, err := h.board(ctx, loc.ID, first)
		if err != nil {
			return nil, err
		}
		return h.displayStateOf(t, ts), nil
	})
}

func (h *Handler) keepAlive() time.Duration {
	if h.KeepAlive > 0 {
		return h.KeepAlive
	}
	return defaultKeepAlive
}

// stream answers with a server-sent event stream: a retry interval, the
// state now, then the state after every change of the location's queue,
// with keep-alive comments in between. It ends when the client goes (a
// write fails), when the server shuts down, or when the live queue
// closes. state must not use the request's context: it runs after the
// handler returned.
func (h *Handler) stream(c *fiber.Ctx, location string, state func(ctx context.Context, first bool) (any, error)) error {
	if h.Live == nil {
		return h.notFound(c)
	}
	c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no") // nginx and the like: do not buffer
	changes, stop := h.Live.Subscribe(location)
	shutdown, closed := c.Context().Done(), h.Live.Done()
	conn := c.Context().Conn()
	keep := h.keepAlive()
	log := h.Log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer stop()
		write := func(s string) bool {
			// The server's write timeout counts from the start of the
			// answer; a stream lives longer, so each write gets its own.
			if conn != nil {
				conn.SetWriteDeadline(time.Now().Add(keep + 10*time.Second))
			}
			if _, err := w.WriteString(s); err != nil {
				return false
			}
			return w.Flush() == nil
		}
		send := func(first bool) bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			v, err := state(ctx, first)
			if err != nil {
				// The store is out: keep the stream, the next change
				// (or the browser's reload) tries again.
				if log != nil && !errors.Is(err, context.Canceled) {
					log.Warn("event stream state", "location", location, "err", err)
				}
				return write(": unavailable\n\n")
			}
			b, err := json.Marshal(v)
			if err != nil {
				return false
			}
			return write("event: queue\ndata: " + string(b) + "\n\n")
		}
		if !write("retry: "+strconv.Itoa(int(eventRetry/time.Millisecond))+"\n\n") || !send(true) {
			return
		}
		ticker := time.NewTicker(keep)
		defer ticker.Stop()
		for {
			select {
			case <-shutdown:
				return
			case <-closed:
				return
			case <-changes:
				if !send(false) {
					return
				}
			case <-ticker.C:
				if !write(": keep-alive\n\n") {
					return
				}
			}
		}
	})
	return nil
}

// ticketState is what the ticket page shows and its event stream sends:
// the sentences in the page's language.
type ticketState struct {
	State    string `json:"state"`
	Ahead    string `json:"ahead"`
	Estimate string `json:"estimate"`
	Called   string `json:"called"`
	Done     string `json:"done"`
	AsOf     string `json:"as_of"`
}

func (h *Handler) ticketStateOf(t texts, tz *time.Location, tk *booking.QueueTicket) ticketState {
	st := ticketState{State: tk.State, AsOf: t.f("waiting_as_of", t.clock(h.now().In(tz)))}
	switch tk.State {
	case booking.QueueWaiting:
		switch tk.Ahead {
		case 0:
			st.Ahead = t.get("waiting_ahead_0")
		case 1:
			st.Ahead = t.get("waiting_ahead_1")
		default:
			st.Ahead = t.f("waiting_ahead_n", tk.Ahead)
		}
		if tk.Ahead > 0 {
			st.Estimate = t.f("waiting_estimate", int((tk.EstimatedWait+time.Minute-1)/time.Minute))
		}
	case booking.QueueCalled:
		st.Called = t.get("waiting_called_nodesk")
		if tk.Desk != nil && *tk.Desk != "" {
			st.Called = t.f("waiting_called", *tk.Desk)
		}
	default:
		st.Done = t.get("waiting_done")
	}
	return st
}

// waitingEvents streams a ticket's place: at once and after every change
// of its location's queue (people ahead and the estimate recomputed),
// and the desk once it is called.
func (h *Handler) waitingEvents(c *fiber.Ctx) error {
	number := strings.ToUpper(c.Params("number"))
	loc, tz, err := h.Catalog.Location(c.Params("location"))
	if err != nil || !validQueueNumber(number) {
		return h.notFound(c)
	}
	t := textsFor(lang(c))
	return h.stream(c, loc.ID, func(ctx context.Context, first bool) (any, error) {
		ts, err := h.board(ctx, loc.ID, first)
		if err != nil {
			return nil, err
		}
		for i := range ts {
			if ts[i].Number == number {
				return h.ticketStateOf(t, tz, &ts[i]), nil
			}
		}
		return ticketState{State: "unknown", Done: t.get("waiting_unknown")}, nil
	})
}
