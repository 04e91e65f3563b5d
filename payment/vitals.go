package payment

import "time"

// Vitals is the payment record's state as monitoring sees it.
type Vitals struct {
	// Payments counts payments by state.
	Payments map[string]int
	// Stuck counts payments still initiated after their timeout and the
	// grace for late answers: the platform's answer is overdue.
	Stuck int
	// Outbox is the outbox by kind (platform_confirm, refund, posting_file,
	// posting_http).
	Outbox map[string]OutboxVitals
}

// OutboxVitals is one kind of outbox work.
type OutboxVitals struct {
	Pending, Dead int
	// Lag is how long the oldest due pending entry has waited.
	Lag time.Duration
}
