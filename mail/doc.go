// Package mail composes the messages a citizen receives about a booking
// (confirmation, cancellation, reschedule, reminder, activation request and
// expiry, the manage link sent again) in German and English with a text and
// an HTML part, builds their calendar attachment (RFC 5545), and delivers
// them with an outbox worker.
//
// The worker reads booking events from a store under a lease, so several
// server replicas never send one event twice while the lease holds; it
// retries failed sends with backoff and moves events that keep failing to
// a dead-letter list. The store, the booking data and the SMTP sender are
// small interfaces defined here and implemented elsewhere (booking/postgres,
// mail/smtp). This package imports only the standard library.
package mail
