package booking

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
)

// CheckInPrefix starts the queue numbers of checked-in appointments.
const CheckInPrefix = "T"

// Queue ticket states.
const (
	QueueWaiting = "waiting"
	QueueCalled  = "called"
	QueueServed  = "served"
	QueueNoShow  = "no_show"
)

// Queue outcomes.
var (
	ErrQueueEmpty       = errors.New("nobody is waiting")
	ErrTicketNotFound   = errors.New("queue ticket not found")
	ErrTicketState      = errors.New("queue ticket is not in a state that allows this")
	ErrCheckInWrongDay  = errors.New("appointment is not today")
	ErrCheckInTooEarly  = errors.New("too early to check in")
	ErrCheckInTooLate   = errors.New("too late to check in")
	ErrCheckInWrongSite = errors.New("appointment is at another location")
	ErrBookingCancelled = errors.New("booking is cancelled")
	ErrAlreadyRedeemed  = errors.New("ticket already used")
	// ErrCheckInUnknown: no appointment has the code given at the kiosk.
	ErrCheckInUnknown = errors.New("no appointment with this code")
	// ErrLocationClosed: the location is not open now; a *ClosedError
	// says when it opens.
	ErrLocationClosed = errors.New("location is closed")
	// ErrBookingUnpaid: the ticket's booking waits for its payment (or
	// never got it), so it does not admit.
	ErrBookingUnpaid = errors.New("booking is not paid")
	// ErrNonceReused: the scan's nonce already recorded a scan of another
	// ticket.
	ErrNonceReused = errors.New("scan nonce already used for another ticket")
	// ErrScanInFuture: a scan dated later than the server's clock allows.
	ErrScanInFuture = errors.New("scan is dated in the future")
	// ErrAdmittedRevoked: an entrance admitted a ticket offline whose
	// booking was cancelled, unpaid or unknown; the scan is recorded and
	// flagged for staff.
	ErrAdmittedRevoked = errors.New("ticket admitted offline although its booking is not valid")
)

// MaxDeskLength is the longest desk name ("3", "12a", "Info").
const MaxDeskLength = 20

// ValidDesk reports whether s can name a desk on the call display:
// 1 to MaxDeskLength letters, digits, spaces or hyphens, not starting
// with a space.
func ValidDesk(s string) bool {
	if s == "" || len([]rune(s)) > MaxDeskLength || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && r != '-' {
			return false
		}
	}
	return true
}

// ScanClockSkew is how far ahead of the server's clock a device's scan
// time may be: device clocks drift, but a scan cannot come from the
// future.
const ScanClockSkew = 2 * time.Minute

// ClosedError is a location that is closed now.
type ClosedError struct {
	Location *Location
	// Opens is the start of the next opening; zero when there is none in
	// the coming two weeks.
	Opens time.Time
	// Zone is the location's time zone, for showing Opens.
	Zone *time.Location
}

func (e *ClosedError) Error() string {
	if e.Opens.IsZero() {
		return "location " + e.Location.ID + " is closed"
	}
	return "location " + e.Location.ID + " is closed, opens at " + e.Opens.In(e.Zone).Format(time.RFC3339)
}

// Unwrap makes a ClosedError an ErrLocationClosed.
func (e *ClosedError) Unwrap() error { return ErrLocationClosed }

// QueueTicket is a Wartenummer.
type QueueTicket struct {
	ID         int64
	LocationID string
	Day        time.Time
	Number     string
	ServiceID  *string
	BookingID  *int64
	State      string
	Desk       *string
	CreatedAt  time.Time
	// CalledAt is the first call (the wait ends there), LastCalledAt the
	// latest: a recall or the call after a transfer (the service starts
	// there, and the call display orders by it).
	CalledAt     *time.Time
	LastCalledAt *time.Time
	FinishedAt   *time.Time
	// Recalls counts the calls repeated to the waiting room.
	Recalls int
	// TransferredFrom is the service a desk transferred the ticket from.
	TransferredFrom *string
	// EstimatedWait is filled in when a ticket is drawn.
	EstimatedWait time.Duration
	// Ahead is the number of people waiting before this ticket.
	Ahead int
}

// Queue runs the waiting lines of offices. All state is in PostgreSQL, so
// desks and kiosks on several server replicas see one queue.
type Queue struct {
	engine *Engine
	store  QueueStore
	// CheckInEarly and CheckInLate bound check-in around a booking's start.
	CheckInEarly, CheckInLate time.Duration
}

// QueueStore keeps queue tickets and admissions: booking/postgres
// implements it.
type QueueStore interface {
	// DrawTicket takes the next number of prefix for the ticket's location
	// and day and inserts the ticket as waiting, filling in ID, Number,
	// Day, State and CreatedAt. A second ticket for one booking fails.
	DrawTicket(ctx context.Context, t *QueueTicket, day Date, prefix string) error
	// TicketOfBooking returns the ticket drawn for a booking.
	TicketOfBooking(ctx context.Context, bookingID int64) (*QueueTicket, error)
	// QueueLoad reports what lies ahead of a ticket.
	QueueLoad(ctx context.Context, location string, day Date, ticketID int64) (QueueLoad, error)
	// CallNext calls the next waiting ticket of a day to a desk: checked-in
	// appointments first, then walk-ins, each in order of arrival; never
	// the same ticket to two desks. ErrQueueEmpty when nobody waits.
	CallNext(ctx context.Context, location string, day Date, desk string) (*QueueTicket, error)
	// FinishTicket moves a called ticket to state; ErrTicketState when it
	// is not called, ErrTicketNotFound when it does not exist.
	FinishTicket(ctx context.Context, location string, id int64, state string) (*QueueTicket, error)
	// RecallTicket calls a called ticket again, to desk; errors as
	// FinishTicket.
	RecallTicket(ctx context.Context, location string, id int64, desk string) (*QueueTicket, error)
	// TransferTicket gives a called ticket another service and lets it
	// wait again at its place of arrival; ErrTicketState also when the
	// ticket already has that service.
	TransferTicket(ctx context.Context, location string, id int64, serviceID string) (*QueueTicket, error)
	// Tickets lists a day's tickets, newest call first, then the waiting
	// in the order CallNext calls them.
	Tickets(ctx context.Context, location string, day Date) ([]QueueTicket, error)
	// Redeem records an admission unless the ticket was admitted before
	// and returns the first admission of the ticket. A nonce that already
	// recorded another ticket's admission fails with ErrNonceReused.
	Redeem(ctx context.Context, deviceID string, r Redemption) (*Redemption, error)
	// RevokedCodes lists the codes of cancelled bookings at a location
	// whose slots overlap [from, to): the tickets an offline gate refuses.
	RevokedCodes(ctx context.Context, location string, from, to time.Time) ([]string, error)
	// FlaggedRedemptions lists a location's flagged admissions scanned in
	// [from, to), oldest first.
	FlaggedRedemptions(ctx context.Context, location string, from, to time.Time) ([]Redemption, error)
}

// QueueLoad is what lies ahead of a ticket.
type QueueLoad struct {
	// Ahead is the number of people waiting before the ticket.
	Ahead int
	// MeanService is the recent mean time a desk needs per ticket; 0 when
	// nobody was served yet.
	MeanService time.Duration
	// Desks is the number of desks that called someone recently.
	Desks int
}

// NewQueue returns the queue of the engine's locations.
func NewQueue(e *Engine, store QueueStore) *Queue {
	return &Queue{engine: e, store: store, CheckInEarly: 30 * time.Minute, CheckInLate: 15 * time.Minute}
}

func (q *Queue) today(locationID string) (*Location, Date, error) {
	l, tz, err := q.engine.Location(locationID)
	if err != nil {
		return nil, Date{}, err
	}
	return l, DateOf(q.engine.Now().In(tz)), nil
}

// WalkIn draws a number for a visitor without an appointment, while the
// location is open; a *ClosedError says when it opens otherwise.
func (q *Queue) WalkIn(ctx context.Context, locationID, serviceID string) (*QueueTicket, error) {
	l, day, err := q.today(locationID)
	if err != nil {
		return nil, err
	}
	s, err := q.engine.Service(locationID, serviceID)
	if err != nil {
		return nil, err
	}
	_, tz, _ := q.engine.Location(l.ID)
	if open, next := l.NextOpening(q.engine.Now(), tz); !open {
		return nil, &ClosedError{Location: l, Opens: next, Zone: tz}
	}
	t := &QueueTicket{LocationID: locationID, ServiceID: &s.ID}
	if err := q.store.DrawTicket(ctx, t, day, s.QueuePrefixOrDefault()); err != nil {
		return nil, err
	}
	return t, q.estimate(ctx, t)
}

// CheckIn turns today's appointment into a T number. Checking in twice
// returns the first ticket again (a reprint).
func (q *Queue) CheckIn(ctx context.Context, locationID, code string) (*QueueTicket, error) {
	l, day, err := q.today(locationID)
	if err != nil {
		return nil, err
	}
	b, _, err := q.engine.records.BookingByCode(ctx, NormalizeBookingCode(code))
	if errors.Is(err, ErrBookingNotFound) {
		// Not the citizen API's "code and token": at the kiosk only a
		// code was given.
		return nil, ErrCheckInUnknown
	}
	if err != nil {
		return nil, err
	}
	_, tz, _ := q.engine.Location(l.ID)
	now := q.engine.Now()
	switch {
	case b.LocationID != l.ID:
		return nil, ErrCheckInWrongSite
	case b.Status == StatusCancelled:
		return nil, ErrBookingCancelled
	case b.Status != StatusConfirmed:
		return nil, ErrTicketState
	case DateOf(b.Start.In(tz)) != day:
		return nil, ErrCheckInWrongDay
	case now.Before(b.Start.Add(-q.CheckInEarly)):
		return nil, ErrCheckInTooEarly
	case now.After(b.Start.Add(q.CheckInLate)):
		return nil, ErrCheckInTooLate
	}
	t := &QueueTicket{LocationID: l.ID, ServiceID: &b.ServiceID, BookingID: &b.ID}
	if err := q.store.DrawTicket(ctx, t, day, CheckInPrefix); err != nil {
		existing, gerr := q.store.TicketOfBooking(ctx, b.ID)
		if gerr != nil {
			return nil, err
		}
		t = existing
	}
	return t, q.estimate(ctx, t)
}

// estimate fills in how many wait ahead and for how long: the people
// ahead times the recent mean service time, shared by the desks working.
func (q *Queue) estimate(ctx context.Context, t *QueueTicket) error {
	st, err := q.store.QueueLoad(ctx, t.LocationID, DateOf(t.Day), t.ID)
	if err != nil {
		return err
	}
	q.fillWait(t, st, st.Ahead)
	return nil
}

// fillWait sets a waiting ticket's people ahead and its estimated wait
// from the location's load.
func (q *Queue) fillWait(t *QueueTicket, load QueueLoad, ahead int) {
	mean := 15 * time.Minute
	if t.ServiceID != nil {
		if s, err := q.engine.Service(t.LocationID, *t.ServiceID); err == nil {
			mean = time.Duration(s.DurationMinutes) * time.Minute
		}
	}
	if load.MeanService > 0 {
		mean = load.MeanService
	}
	desks := load.Desks
	if desks < 1 {
		desks = 1
	}
	t.Ahead = ahead
	t.EstimatedWait = time.Duration(math.Ceil(float64(ahead)/float64(desks))) * mean
}

// Board lists the day's tickets of a location as Today does, with the
// people ahead and the estimated wait of every waiting ticket filled in:
// what the live pages show, read in two queries however many wait.
func (q *Queue) Board(ctx context.Context, locationID string) ([]QueueTicket, error) {
	_, day, err := q.today(locationID)
	if err != nil {
		return nil, err
	}
	ts, err := q.store.Tickets(ctx, locationID, day)
	if err != nil {
		return nil, err
	}
	// Ticket id 0 is no ticket: the load without anyone ahead.
	load, err := q.store.QueueLoad(ctx, locationID, day, 0)
	if err != nil {
		return nil, err
	}
	// Tickets lists the waiting in the order they are called.
	ahead := 0
	for i := range ts {
		if ts[i].State == QueueWaiting {
			q.fillWait(&ts[i], load, ahead)
			ahead++
		}
	}
	return ts, nil
}

// CallNext calls the next waiting ticket to a desk: checked-in
// appointments first, then walk-ins, each in order of arrival. Desks
// calling at once never get the same ticket.
func (q *Queue) CallNext(ctx context.Context, locationID, desk string) (*QueueTicket, error) {
	_, day, err := q.today(locationID)
	if err != nil {
		return nil, err
	}
	return q.store.CallNext(ctx, locationID, day, desk)
}

// Finish marks a called ticket served or a no-show.
func (q *Queue) Finish(ctx context.Context, locationID string, id int64, state string) (*QueueTicket, error) {
	if state != QueueServed && state != QueueNoShow {
		return nil, ErrTicketState
	}
	return q.store.FinishTicket(ctx, locationID, id, state)
}

// Recall calls a called ticket once more (the citizen did not come):
// it goes back to the top of the call display, to desk.
func (q *Queue) Recall(ctx context.Context, locationID string, id int64, desk string) (*QueueTicket, error) {
	if _, _, err := q.engine.Location(locationID); err != nil {
		return nil, err
	}
	return q.store.RecallTicket(ctx, locationID, id, desk)
}

// Transfer sends a called ticket to another service of its location. The
// ticket keeps its number and its place in the line: it waits again as
// of its original arrival, so the citizen does not queue twice, and the
// next desk to call takes it before those who came later.
func (q *Queue) Transfer(ctx context.Context, locationID string, id int64, serviceID string) (*QueueTicket, error) {
	if _, err := q.engine.Service(locationID, serviceID); err != nil {
		return nil, err
	}
	return q.store.TransferTicket(ctx, locationID, id, serviceID)
}

// Today lists the day's tickets of a location, newest call first for the
// display, then the waiting ones.
func (q *Queue) Today(ctx context.Context, locationID string) ([]QueueTicket, error) {
	_, day, err := q.today(locationID)
	if err != nil {
		return nil, err
	}
	return q.store.Tickets(ctx, locationID, day)
}

// Position returns today's ticket of that number at a location with the
// people waiting before it and the estimated wait (both filled in while
// it waits): what the QR on a printed ticket shows. ErrTicketNotFound
// when there is no such ticket today.
func (q *Queue) Position(ctx context.Context, locationID, number string) (*QueueTicket, error) {
	ts, err := q.Today(ctx, locationID)
	if err != nil {
		return nil, err
	}
	for i := range ts {
		t := &ts[i]
		if !strings.EqualFold(t.Number, number) {
			continue
		}
		if t.State == QueueWaiting {
			if err := q.estimate(ctx, t); err != nil {
				return nil, fmt.Errorf("queue position of %s: %w", t.Number, err)
			}
		}
		return t, nil
	}
	return nil, ErrTicketNotFound
}

// Redemption is one admission at an entrance.
type Redemption struct {
	Code      string
	Location  string
	Nonce     string
	ScannedAt time.Time
	Offline   bool
	// Flag is set on an offline admission of a ticket that was not valid:
	// why staff should look at it (booking_cancelled, booking_unpaid,
	// booking_not_found).
	Flag string
}

// Flags of an offline admission of a ticket that was not valid.
const (
	FlagCancelled = "booking_cancelled"
	FlagUnpaid    = "booking_unpaid"
	FlagUnknown   = "booking_not_found"
)

// Redeem records an admission. The same nonce again (a repeated upload)
// returns the recorded admission; a different nonce for a ticket already
// used returns the first admission and ErrAlreadyRedeemed.
//
// Only a confirmed booking admits: an online scan of a cancelled, unpaid
// or unknown booking is refused (ErrBookingCancelled, ErrBookingUnpaid,
// ErrBookingNotFound). An offline scan has already let its visitor in:
// it is recorded with a flag for staff and answered with
// ErrAdmittedRevoked, never silently counted. A scan dated more than
// ScanClockSkew after the server's clock fails with ErrScanInFuture.
func (q *Queue) Redeem(ctx context.Context, deviceID string, r Redemption) (*Redemption, error) {
	if r.ScannedAt.After(q.engine.Now().Add(ScanClockSkew)) {
		return nil, ErrScanInFuture
	}
	b, _, err := q.engine.records.BookingByCode(ctx, r.Code)
	var invalid error
	switch {
	case errors.Is(err, ErrBookingNotFound):
		invalid, r.Flag = ErrBookingNotFound, FlagUnknown
	case err != nil:
		return nil, err
	case b.LocationID != r.Location:
		return nil, ErrCheckInWrongSite
	case b.Status == StatusCancelled:
		invalid, r.Flag = ErrBookingCancelled, FlagCancelled
	case b.Status != StatusConfirmed:
		invalid, r.Flag = ErrBookingUnpaid, FlagUnpaid
	}
	if invalid != nil && !r.Offline {
		return nil, invalid
	}
	first, err := q.store.Redeem(ctx, deviceID, r)
	if err != nil {
		return nil, err
	}
	switch {
	case first.Code != r.Code:
		return nil, ErrNonceReused
	case first.Nonce != r.Nonce:
		return first, ErrAlreadyRedeemed
	case first.Flag != "":
		return first, fmt.Errorf("%w: %s", ErrAdmittedRevoked, first.Flag)
	}
	return first, nil
}

// FlaggedToday lists today's offline admissions of tickets that were not
// valid at a location, for staff to follow up.
func (q *Queue) FlaggedToday(ctx context.Context, locationID string) ([]Redemption, error) {
	_, day, err := q.today(locationID)
	if err != nil {
		return nil, err
	}
	_, tz, _ := q.engine.Location(locationID)
	return q.store.FlaggedRedemptions(ctx, locationID, day.Midnight(tz), day.AddDays(1).Midnight(tz))
}

// RevokedCodes lists the codes of the cancelled bookings at a location
// whose slots overlap [from, to), for the configuration of its gates.
func (q *Queue) RevokedCodes(ctx context.Context, locationID string, from, to time.Time) ([]string, error) {
	if _, _, err := q.engine.Location(locationID); err != nil {
		return nil, err
	}
	return q.store.RevokedCodes(ctx, locationID, from, to)
}
