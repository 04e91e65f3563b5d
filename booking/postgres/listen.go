package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/lib/pq"
)

// Reconnect intervals of the queue listener: short, so that a call
// display hears of calls again soon after a network loss.
const (
	listenMinReconnect = 100 * time.Millisecond
	listenMaxReconnect = 2 * time.Second
	// listenPing checks an idle connection, so a silently dropped one is
	// noticed and re-established.
	listenPing = 30 * time.Second
)

// ListenQueue listens on QueueChannel with a connection of its own and
// calls changed with the location id of every queue change, until ctx
// ends. After the connection was lost and re-established it calls
// changed("") once: changes may have been missed, of any location. It
// returns nil when ctx ends, or the error of the first connection.
func ListenQueue(ctx context.Context, dsn string, log *slog.Logger, changed func(location string)) error {
	l := pq.NewListener(dsn, listenMinReconnect, listenMaxReconnect, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected:
			log.Warn("queue listener disconnected", "err", err)
		case pq.ListenerEventReconnected:
			log.Info("queue listener reconnected")
		case pq.ListenerEventConnectionAttemptFailed:
			log.Debug("queue listener connection attempt failed", "err", err)
		}
	})
	// Listen waits for a connection; closing the listener when ctx ends
	// is what stops that wait and the loop below.
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		l.Close()
	}()
	if err := l.Listen(QueueChannel); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("listen for queue changes: %w", err)
	}
	ping := time.NewTicker(listenPing)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n, ok := <-l.Notify:
			if !ok {
				return nil
			}
			if n == nil {
				// pq sends nil after a reconnect.
				changed("")
				continue
			}
			changed(n.Extra)
		case <-ping.C:
			if err := l.Ping(); err != nil {
				log.Debug("queue listener ping", "err", err)
			}
		}
	}
}
