package staff

import (
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// ticketJSON is a queue ticket as the desk sees it.
type ticketJSON struct {
	ID         int64      `json:"id"`
	Location   string     `json:"location"`
	Number     string     `json:"number"`
	Service    *string    `json:"service,omitempty"`
	State      string     `json:"state"`
	Desk       *string    `json:"desk,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	CalledAt   *time.Time `json:"called_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Ahead      int        `json:"ahead"`
	// LastCalledAt is the latest call (a recall, the call after a
	// transfer); CalledAt the first.
	LastCalledAt    *time.Time `json:"last_called_at,omitempty"`
	Recalls         int        `json:"recalls,omitempty"`
	TransferredFrom *string    `json:"transferred_from,omitempty"`
}

func newTicketJSON(t *booking.QueueTicket) ticketJSON {
	return ticketJSON{ID: t.ID, Location: t.LocationID, Number: t.Number, Service: t.ServiceID, State: t.State,
		Desk: t.Desk, CreatedAt: t.CreatedAt, CalledAt: t.CalledAt, FinishedAt: t.FinishedAt, Ahead: t.Ahead,
		LastCalledAt: t.LastCalledAt, Recalls: t.Recalls, TransferredFrom: t.TransferredFrom}
}

type queueJSON struct {
	Tickets []ticketJSON `json:"tickets"`
}

type callRequest struct {
	Desk string `json:"desk"`
}

type finishRequest struct {
	State string `json:"state"`
}

type recallRequest struct {
	Desk string `json:"desk"`
}

type transferRequest struct {
	Service string `json:"service"`
}

// displayJSON is what the waiting-room screen shows: numbers and desks
// only, no names.
type displayJSON struct {
	Called  []displayEntry `json:"called"`
	Waiting int            `json:"waiting"`
}

type displayEntry struct {
	Number string `json:"number"`
	Desk   string `json:"desk"`
}

// displayCalled is how many called numbers the screen shows at most.
const displayCalled = 10

func newDisplayJSON(ts []booking.QueueTicket) displayJSON {
	out := displayJSON{Called: []displayEntry{}}
	for _, t := range ts {
		switch {
		case t.State == booking.QueueCalled && t.Desk != nil && len(out.Called) < displayCalled:
			out.Called = append(out.Called, displayEntry{t.Number, *t.Desk})
		case t.State == booking.QueueWaiting:
			out.Waiting++
		}
	}
	return out
}

// admissionJSON is an entrance admission staff should look at.
type admissionJSON struct {
	Code      string    `json:"code"`
	ScannedAt time.Time `json:"scanned_at"`
	Offline   bool      `json:"offline"`
	// Flag says why: booking_cancelled, booking_unpaid, booking_not_found.
	Flag string `json:"flag"`
}

func newAdmissionJSON(r *booking.Redemption) admissionJSON {
	return admissionJSON{Code: r.Code, ScannedAt: r.ScannedAt, Offline: r.Offline, Flag: r.Flag}
}

type flaggedJSON struct {
	Admissions []admissionJSON `json:"admissions"`
}
