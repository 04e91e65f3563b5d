package fairness

import (
	"context"
	"time"
)

// ReleaseGuard slows down clients that give holds back within seconds of
// taking them, again and again: the pattern of a bot that hops between
// times to keep them from others, or that releases a hold the moment a
// buyer is ready to take it. A release (or a replacement by a new hold) of
// a hold younger than Quick costs a token from the client's
// "quick-release" bucket; an ordinary change of mind after a while costs
// nothing.
type ReleaseGuard struct {
	// Limiter is the bucket's rate: a few quick releases at once, then
	// one per so many seconds. A disabled limiter turns the guard off.
	Limiter *Limiter
	// Quick is the age under which a release counts as quick.
	Quick time.Duration
}

// quickReleaseBucket names the guard's bucket in the store.
const quickReleaseBucket = "quick-release"

// Enabled reports whether the guard slows anything down.
func (g *ReleaseGuard) Enabled() bool { return g != nil && g.Limiter.Enabled() && g.Quick > 0 }

// Allow decides a release by client, at now, of a hold placed at placed
// (zero when not known: not counted). When the client has released too
// many holds too quickly it reports false and how long to wait.
func (g *ReleaseGuard) Allow(ctx context.Context, client string, placed, now time.Time) (bool, time.Duration, error) {
	if !g.Enabled() || placed.IsZero() || now.Sub(placed) >= g.Quick {
		return true, 0, nil
	}
	return g.Limiter.Allow(ctx, quickReleaseBucket, client)
}
