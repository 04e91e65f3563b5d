// Package live fans the queue changes one replica hears from PostgreSQL
// (LISTEN) out to the event streams it serves: the call displays, the
// ticket pages and the desk views of a location. A change is only a
// signal; each stream reads the state it shows afresh, so a burst of
// changes costs one read per stream, not one per change.
package live

import "sync"

// Hub keeps the subscriptions of one server process.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscription]struct{}
	// versions count the changes per location, all those of every
	// location: a state read at one version is current until it moves.
	versions map[string]uint64
	all      uint64
	done     chan struct{}
	closed   bool
}

type subscription struct{ c chan struct{} }

// NewHub returns a hub without subscriptions.
func NewHub() *Hub {
	return &Hub{subs: map[string]map[*subscription]struct{}{}, versions: map[string]uint64{}, done: make(chan struct{})}
}

// Subscribe returns a channel that receives a signal after each change of
// the location's queue (several changes before the signal is taken
// become one) and the function that ends the subscription. On a closed
// hub the channel never fires; Done is closed.
func (h *Hub) Subscribe(location string) (<-chan struct{}, func()) {
	s := &subscription{c: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return s.c, func() {}
	}
	if h.subs[location] == nil {
		h.subs[location] = map[*subscription]struct{}{}
	}
	h.subs[location][s] = struct{}{}
	return s.c, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs[location], s)
		if len(h.subs[location]) == 0 {
			delete(h.subs, location)
		}
	}
}

// Publish signals the subscribers of a location; "" signals every
// subscriber (after a reconnect to PostgreSQL, when changes of any
// location may have been missed).
func (h *Hub) Publish(location string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	signal := func(set map[*subscription]struct{}) {
		for s := range set {
			select {
			case s.c <- struct{}{}:
			default: // a signal is pending already
			}
		}
	}
	if location == "" {
		h.all++
		for _, set := range h.subs {
			signal(set)
		}
		return
	}
	h.versions[location]++
	signal(h.subs[location])
}

// Version counts the changes of a location heard so far. A state read
// after Version returned v reflects every change up to v, so readers of
// one location can share it while the version stays v.
func (h *Hub) Version(location string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.versions[location] + h.all
}

// Subscribers counts the open subscriptions, for tests and metrics.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.subs {
		n += len(set)
	}
	return n
}

// Done is closed when the hub is closed: the streams end.
func (h *Hub) Done() <-chan struct{} { return h.done }

// Close ends every stream (server shutdown). Closing twice is harmless.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}
