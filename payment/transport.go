package payment

import (
	"errors"
	"fmt"
	"net"
)

// TransportError wraps the error of an HTTP call that got no answer. It
// always matches ErrUnavailable; it also matches ErrOutcomeUnknown unless
// the request demonstrably never left (the connection could not be
// opened), because a request that reached the platform may have been
// carried out although its answer was lost.
func TransportError(what string, err error) error {
	if notSent(err) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	}
	return fmt.Errorf("%w: %w: %s: %w", ErrUnavailable, ErrOutcomeUnknown, what, err)
}

// notSent reports an error from before the request was written: name
// resolution or a connection that could not be opened.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	return false
}
