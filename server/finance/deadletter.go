package finance

import (
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// deadLetterJSON is a delivery job that gave up.
type deadLetterJSON struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	Reference   string     `json:"payment_reference"`
	PostingID   string     `json:"posting_id,omitempty"`
	AmountCents int64      `json:"amount_cents,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"last_error,omitempty"`
	ExportFile  string     `json:"export_file,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DoneAt      *time.Time `json:"done_at,omitempty"`
}

func newDeadLetterJSON(o *payment.OutboxItem) deadLetterJSON {
	return deadLetterJSON{ID: o.ID, Kind: o.Kind, Reference: o.Reference, PostingID: o.PostingID, AmountCents: o.AmountCents,
		Reason: o.Reason, State: o.State, Attempts: o.Attempts, LastError: o.LastError, ExportFile: o.ExportFile,
		CreatedAt: o.CreatedAt, DoneAt: o.DoneAt}
}

type deadLettersJSON struct {
	DeadLetters []deadLetterJSON `json:"dead_letters"`
}
