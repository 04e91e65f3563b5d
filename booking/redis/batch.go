package redis

import (
	"context"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// scriptBatcher sends the script calls of concurrent requests to Redis
// together, as one pipeline: one write and one read on the connection
// instead of one each per call. In a rush the syscalls of a round trip,
// not the scripts, are what a hold costs the server (pprof shows the
// socket write as the biggest item), so batching is what lets one server
// keep up with Redis. Nothing runs in the background: a caller that finds
// fewer than maxFlushers pipelines in flight sends everything waiting,
// its own call included; the others wait for their answer.
type scriptBatcher struct {
	rdb goredis.UniversalClient

	mu       sync.Mutex
	pending  []*scriptCall
	flushing int
}

const (
	// maxFlushers bounds the pipelines in flight at once.
	maxFlushers = 4
	// maxBatch bounds one pipeline.
	maxBatch = 128
)

type scriptCall struct {
	ctx    context.Context
	script *goredis.Script
	keys   []string
	args   []any
	val    any
	err    error
	done   chan struct{}
}

// run evaluates a script by EVALSHA, in a pipeline with other callers' when
// several are waiting, and falls back to EVAL when Redis does not know the
// script (after a restart or SCRIPT FLUSH).
func (b *scriptBatcher) run(ctx context.Context, s *goredis.Script, keys []string, args ...any) (any, error) {
	c := &scriptCall{ctx: ctx, script: s, keys: keys, args: args, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	if b.flushing >= maxFlushers {
		b.mu.Unlock()
		select {
		case <-c.done:
			return c.val, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b.flushing++
	for {
		n := min(len(b.pending), maxBatch)
		batch := b.pending[:n:n]
		b.pending = append([]*scriptCall(nil), b.pending[n:]...)
		b.mu.Unlock()
		b.exec(batch)
		b.mu.Lock()
		// Callers that came while every flusher was busy are waiting for
		// one to come back.
		if len(b.pending) == 0 {
			b.flushing--
			b.mu.Unlock()
			// Another flusher may have taken this call.
			<-c.done
			return c.val, c.err
		}
	}
}

// exec sends a batch and hands every caller its answer.
func (b *scriptBatcher) exec(batch []*scriptCall) {
	live := batch[:0:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = err // its caller gave up before it was sent
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		c := live[0]
		c.val, c.err = c.script.Run(c.ctx, b.rdb, c.keys, c.args...).Result()
		close(c.done)
		return
	}
	// The pipeline must not fail for the others because the caller that
	// happens to send it gives up.
	ctx := context.WithoutCancel(live[0].ctx)
	pipe := b.rdb.Pipeline()
	cmds := make([]*goredis.Cmd, len(live))
	for i, c := range live {
		cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	pipe.Exec(ctx) // each command carries its own error
	for i, c := range live {
		c.val, c.err = cmds[i].Result()
		if c.err != nil && strings.HasPrefix(c.err.Error(), "NOSCRIPT") {
			c.val, c.err = c.script.Run(ctx, b.rdb, c.keys, c.args...).Result()
		}
		close(c.done)
	}
}
