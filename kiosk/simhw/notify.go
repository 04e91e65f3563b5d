package simhw

import (
	"context"
	"sync"
)

// notifier lets tests wait for a condition on a device's recorded state.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// signal wakes all waiters.
func (n *notifier) signal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}

// wait blocks until cond returns true or ctx ends. cond is checked after
// each signal.
func (n *notifier) wait(ctx context.Context, cond func() bool) error {
	for {
		n.mu.Lock()
		if n.ch == nil {
			n.ch = make(chan struct{})
		}
		ch := n.ch
		n.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
