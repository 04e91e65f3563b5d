package booking

import "time"

// PersonalData is what the booking record holds about a booking's
// person: the booking itself (with the contact, unless anonymised) and
// the mails about it. It is the citizen's copy of their data (DSGVO
// Art. 15); payments are kept by the payment record.
type PersonalData struct {
	Booking *Booking
	Mails   []MailRecord
}

// MailRecord is one mail about a booking: what kind, when it was queued,
// and what became of it.
type MailRecord struct {
	Kind     string
	QueuedAt time.Time
	// DoneAt is when it was sent, superseded or given up; nil while
	// pending.
	DoneAt *time.Time
	// State is MailSent, MailPending, MailSuperseded or MailGivenUp.
	State string
}

// The states of a MailRecord.
const (
	MailSent       = "sent"
	MailPending    = "pending"
	MailSuperseded = "superseded"
	MailGivenUp    = "given_up"
)
