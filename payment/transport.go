package payment

import (
	"crypto/tls"
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

// RequestNotSent is implemented by errors that happen before a request
// goes out (a Bearer token that could not be had, for example).
type RequestNotSent interface {
	RequestNotSent() bool
}

// notSent reports an error from before the request reached the platform's
// application: name resolution, a connection that could not be opened, a
// TLS handshake that failed, or a RequestNotSent error.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	var rh tls.RecordHeaderError
	if errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &rh) {
		return true
	}
	var ns RequestNotSent
	return errors.As(err, &ns) && ns.RequestNotSent()
}
