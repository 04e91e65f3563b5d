package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// workers runs the background jobs of a replica (payment outbox and
// sweep, mail, activation sweep, retention, signing-key reload) so that a
// shutdown drains them: Stop lets each finish the round it is in and
// start no other; a round's I/O is cancelled only when the drain's
// deadline passes.
type workers struct {
	log      *slog.Logger
	stopping chan struct{}
	stopOnce sync.Once
	// hard is the context of the rounds, cancelled at the deadline.
	hard   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newWorkers(log *slog.Logger) *workers {
	hard, cancel := context.WithCancel(context.Background())
	return &workers{log: log, stopping: make(chan struct{}), hard: hard, cancel: cancel}
}

// maxBackToBack bounds the rounds run without waiting while a job reports
// more work: a job that keeps saying so must not spin.
const maxBackToBack = 50

// every runs round every interval, at once first. A round returns true
// when more work is due right away (a full batch); it runs again without
// waiting, up to maxBackToBack times.
func (w *workers) every(name string, interval time.Duration, round func(ctx context.Context) (more bool)) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			for i := 0; i < maxBackToBack; i++ {
				if !round(w.hard) || w.stopped() {
					break
				}
			}
			select {
			case <-w.stopping:
				w.log.Debug("worker stopped", "worker", name)
				return
			case <-t.C:
			}
		}
	}()
}

func (w *workers) stopped() bool {
	select {
	case <-w.stopping:
		return true
	default:
		return false
	}
}

// Stop asks every worker to stop after its current round and waits until
// all have, or until ctx ends: then the rounds still running are
// cancelled, and Stop reports false once they have returned.
func (w *workers) Stop(ctx context.Context) bool {
	w.stopOnce.Do(func() { close(w.stopping) })
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		w.cancel()
		return true
	case <-ctx.Done():
		w.cancel()
		<-done
		return false
	}
}

// run runs a job that loops by itself until its context ends (a listener
// waiting for notifications): it has no round to finish, so its context
// ends as soon as the drain begins.
func (w *workers) run(name string, job func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(w.hard)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer cancel()
		job(ctx)
		w.log.Debug("worker stopped", "worker", name)
	}()
	go func() {
		select {
		case <-w.stopping:
		case <-ctx.Done():
		}
		cancel()
	}()
}
