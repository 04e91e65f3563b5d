package serialdev

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.bug.st/serial"
)

var (
	// ErrDisconnected is returned once by Read or Write when the device
	// went away (or could not be opened); the next call tries to reopen.
	ErrDisconnected = errors.New("serialdev: device disconnected")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("serialdev: closed")
)

// DefaultRetryInterval is how often a missing device is looked for.
const DefaultRetryInterval = time.Second

// Reconnecting is a serial port that reopens itself after the device
// disappears, resolving the port again each time so a USB device that
// comes back under a new ttyACM number is found by its VID:PID.
//
// Read never blocks much longer than the read timeout or retry interval:
// while the device is missing it returns (0, nil) like a timed-out read,
// so callers' loops can check their context. Reads and writes may run
// concurrently.
type Reconnecting struct {
	cfg   Config
	retry time.Duration
	log   *slog.Logger

	mu          sync.Mutex
	port        serial.Port
	name        string
	lastAttempt time.Time
	closed      bool
	done        chan struct{}
}

// ReconnectOptions tune a Reconnecting port.
type ReconnectOptions struct {
	// RetryInterval is the least time between open attempts; zero means
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// Logger receives connect and disconnect events; nil means
	// slog.Default().
	Logger *slog.Logger
}

// NewReconnecting returns a port that opens cfg lazily on first use.
func NewReconnecting(cfg Config, opts ReconnectOptions) *Reconnecting {
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Reconnecting{cfg: cfg, retry: opts.RetryInterval, log: opts.Logger, done: make(chan struct{})}
}

// Connected reports whether a port is open right now.
func (r *Reconnecting) Connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.port != nil
}

// Port returns the open port, opening it if needed, for operations the
// wrapper does not cover such as SetDTR.
func (r *Reconnecting) Port() (serial.Port, error) {
	return r.get(false)
}

// Read reads from the device. See the type comment for what happens
// while the device is missing.
func (r *Reconnecting) Read(p []byte) (int, error) {
	port, err := r.get(true)
	if errors.Is(err, ErrClosed) {
		return 0, err
	}
	if err != nil {
		return 0, nil
	}
	n, err := port.Read(p)
	if err != nil {
		r.drop(port, err)
		return n, fmt.Errorf("%w: read: %w", ErrDisconnected, err)
	}
	return n, nil
}

// Write writes to the device. It does not retry a failed write on a new
// port: resending a half-printed ticket is the caller's decision.
func (r *Reconnecting) Write(p []byte) (int, error) {
	port, err := r.get(false)
	if err != nil {
		return 0, err
	}
	n, err := port.Write(p)
	if err != nil {
		r.drop(port, err)
		return n, fmt.Errorf("%w: write: %w", ErrDisconnected, err)
	}
	return n, nil
}

// Close closes the port and stops reconnecting.
func (r *Reconnecting) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.done)
	if r.port == nil {
		return nil
	}
	err := r.port.Close()
	r.port = nil
	if err != nil {
		return fmt.Errorf("serialdev: close %s: %w", r.name, err)
	}
	return nil
}

// get returns the open port or opens one. With wait it first sleeps out
// the rest of the retry interval, so a reader loop does not spin.
func (r *Reconnecting) get(wait bool) (serial.Port, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if r.port != nil {
		defer r.mu.Unlock()
		return r.port, nil
	}
	if d := r.retry - time.Since(r.lastAttempt); d > 0 {
		if !wait {
			r.mu.Unlock()
			return nil, fmt.Errorf("%w: waiting to retry", ErrDisconnected)
		}
		r.mu.Unlock()
		select {
		case <-time.After(d):
		case <-r.done:
			return nil, ErrClosed
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, ErrClosed
		}
		if r.port != nil {
			defer r.mu.Unlock()
			return r.port, nil
		}
	}
	defer r.mu.Unlock()
	r.lastAttempt = time.Now()
	name, err := r.cfg.Resolve()
	if err == nil {
		var port serial.Port
		if port, err = openName(name, r.cfg); err == nil {
			r.port, r.name = port, name
			r.log.Info("serial device connected", "port", name)
			return port, nil
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrDisconnected, err)
}

// drop closes port after an I/O error, unless it was already replaced.
func (r *Reconnecting) drop(port serial.Port, cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.port != port {
		return
	}
	r.log.Warn("serial device lost", "port", r.name, "err", cause)
	_ = port.Close()
	r.port = nil
	// Start the retry interval now: a device that just vanished is not
	// back yet.
	r.lastAttempt = time.Now()
}
