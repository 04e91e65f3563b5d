package router

import (
	"context"
	"encoding/json"
	"time"

	"github.com/digitale-verwaltung/termin/account"
	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
	"github.com/digitale-verwaltung/termin/server/citizen"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// The fakes stand in for the booking and payment stores: one pool with one
// ticket type, one enrolled gate, one paid booking. When down is set,
// every call that would reach a store fails with it.

var (
	testDay    = time.Date(2030, time.January, 7, 0, 0, 0, 0, time.UTC)
	testStart  = time.Date(2030, time.January, 7, 9, 0, 0, 0, time.UTC)
	testPool   = booking.Location{ID: "stadtbad", Kind: booking.KindPool, Name: "Stadtbad", Timezone: "Europe/Berlin", Capacity: 150, SlotMinutes: 60}
	testTicket = booking.Service{ID: "erwachsene", LocationID: "stadtbad", Name: "Erwachsene", DurationMinutes: 60,
		FeeCents: 450, Payment: booking.PayOnline, MaxUnits: 8, QueuePrefix: "P"}
	testDevice = booking.Device{ID: "dev-1", LocationID: "stadtbad", Name: "Drehkreuz", Mode: booking.ModeGate,
		CreatedAt: testDay, Status: json.RawMessage(`{}`)}
	testBooking = booking.Booking{ID: 7, Code: "ABCDEFGH", LocationID: "stadtbad", ServiceID: "erwachsene", Start: testStart,
		End: testStart.Add(time.Hour), Units: []int{0, 1}, Items: []booking.Item{{ServiceID: "erwachsene", Count: 2}},
		Name: "Erika", Email: "erika@example.org", Lang: booking.LangDE,
		Status: booking.StatusConfirmed, CreatedAt: testDay}
	testPayment = payment.Payment{ID: 3, Reference: "ref-1", Kassenzeichen: "TB00000001", BookingID: 7, BookingCode: "ABCDEFGH",
		ServiceID: "erwachsene", Units: 2, AmountCents: 900, Currency: "EUR", Platform: "epay21", PlatformID: "p-1",
		PayURL: "https://pay.example/p-1", State: payment.StateInitiated, Deadline: testStart}
)

const (
	testDeviceToken = "device-token"
	testAdminKey    = "admin-key"
	testManageToken = "manage-token"
)

type fakeBooking struct{ down error }

func (f *fakeBooking) Locations() []booking.Location { return []booking.Location{testPool} }

func (f *fakeBooking) Location(id string) (*booking.Location, *time.Location, error) {
	if id != testPool.ID {
		return nil, nil, booking.ErrLocationUnknown
	}
	l := testPool
	return &l, time.UTC, nil
}

func (f *fakeBooking) Services(locationID string) ([]booking.Service, error) {
	if _, _, err := f.Location(locationID); err != nil {
		return nil, err
	}
	return []booking.Service{testTicket}, nil
}

func (f *fakeBooking) Service(locationID, serviceID string) (*booking.Service, error) {
	if serviceID != testTicket.ID {
		return nil, booking.ErrServiceUnknown
	}
	s := testTicket
	return &s, nil
}

func (f *fakeBooking) Availability(ctx context.Context, locationID, serviceID string, from, to booking.Date) ([]booking.Slot, error) {
	if f.down != nil {
		return nil, f.down
	}
	return []booking.Slot{{Start: testStart, End: testStart.Add(time.Hour), Free: 150}}, nil
}

func (f *fakeBooking) PlaceHold(ctx context.Context, locationID, serviceID string, start time.Time, units int) (*booking.Hold, error) {
	if f.down != nil {
		return nil, f.down
	}
	return &booking.Hold{ID: "stadtbad.20300107.0123456789ABCDEF", LocationID: locationID, ServiceID: serviceID, Start: start,
		End: start.Add(time.Hour), Units: []int{0, 1}[:units], ExpiresAt: start.Add(-time.Hour)}, nil
}

func (f *fakeBooking) PlaceHoldFor(ctx context.Context, locationID string, items []booking.Item, start time.Time) (*booking.Hold, error) {
	if f.down != nil {
		return nil, f.down
	}
	return &booking.Hold{ID: "stadtbad.20300107.0123456789ABCDEF", LocationID: locationID, ServiceID: items[0].ServiceID, Items: items,
		Start: start, End: start.Add(time.Hour), Units: []int{0, 1, 2}, ExpiresAt: start.Add(-time.Hour)}, nil
}

func (f *fakeBooking) AvailabilityFor(ctx context.Context, locationID string, items []booking.Item, from, to booking.Date) ([]booking.Slot, error) {
	return f.Availability(ctx, locationID, items[0].ServiceID, from, to)
}

func (f *fakeBooking) Calendar(ctx context.Context, locationID string, items []booking.Item, from, to booking.Date) (*booking.Calendar, error) {
	if f.down != nil {
		return nil, f.down
	}
	next := booking.Slot{Start: testStart, End: testStart.Add(time.Hour), Free: 150}
	return &booking.Calendar{Days: []booking.CalendarDay{{Day: booking.DateOf(testStart), Free: 9}}, Next: &next}, nil
}

func (f *fakeBooking) Window(locationID string) (booking.Date, booking.Date, error) {
	if _, _, err := f.Location(locationID); err != nil {
		return booking.Date{}, booking.Date{}, err
	}
	first := booking.DateOf(testStart)
	return first, first.AddDays(59), nil
}

func (f *fakeBooking) ReleaseHold(ctx context.Context, id string) error { return f.down }

func (f *fakeBooking) HoldService(ctx context.Context, holdID string) (*booking.Service, error) {
	if f.down != nil {
		return nil, f.down
	}
	s := testTicket
	return &s, nil
}

func (f *fakeBooking) Book(ctx context.Context, holdID string, c booking.Contact) (*booking.Confirmation, error) {
	if f.down != nil {
		return nil, f.down
	}
	b := testBooking
	return &booking.Confirmation{Booking: &b, ManageToken: testManageToken}, nil
}

func (f *fakeBooking) Lookup(ctx context.Context, code, token string) (*booking.Booking, error) {
	if f.down != nil {
		return nil, f.down
	}
	if code != testBooking.Code || token != testManageToken {
		return nil, booking.ErrBookingNotFound
	}
	b := testBooking
	return &b, nil
}

func (f *fakeBooking) Cancel(ctx context.Context, code, token string) (*citizen.Cancellation, error) {
	b, err := f.Lookup(ctx, code, token)
	if err != nil {
		return nil, err
	}
	b.Status = booking.StatusCancelled
	return &citizen.Cancellation{Booking: b, Money: payment.CancelOutcome{Money: payment.MoneyNone}}, nil
}

func (f *fakeBooking) Activate(ctx context.Context, code, token string) (*booking.Booking, error) {
	return f.Lookup(ctx, code, token)
}

func (f *fakeBooking) Reschedule(ctx context.Context, code, token, holdID string) (*booking.Booking, error) {
	b, err := f.Lookup(ctx, code, token)
	if err != nil {
		return nil, err
	}
	prevStart, prevEnd := b.Start, b.End
	b.Start, b.End = b.Start.Add(24*time.Hour), b.End.Add(24*time.Hour)
	b.PreviousStart, b.PreviousEnd, b.Sequence = &prevStart, &prevEnd, b.Sequence+1
	return b, nil
}

func (f *fakeBooking) SendManageLink(ctx context.Context, code, email, lang string) error {
	if f.down != nil {
		return f.down
	}
	if code != testBooking.Code || email != testBooking.Email {
		return booking.ErrBookingNotFound
	}
	return nil
}

func (f *fakeBooking) DeviceByToken(ctx context.Context, token string) (*booking.Device, error) {
	if token != testDeviceToken {
		return nil, booking.ErrDeviceUnknown
	}
	d := testDevice
	return &d, nil // the device is known before the store goes down
}

func (f *fakeBooking) EnrollDevice(ctx context.Context, code string) (*booking.Device, string, error) {
	if f.down != nil {
		return nil, "", f.down
	}
	d := testDevice
	return &d, testDeviceToken, nil
}

func (f *fakeBooking) Heartbeat(ctx context.Context, id, version string, status json.RawMessage) error {
	return f.down
}

func (f *fakeBooking) RegisterDevice(ctx context.Context, locationID, name, mode string, validFor time.Duration) (*booking.Device, string, error) {
	if f.down != nil {
		return nil, "", f.down
	}
	d := testDevice
	return &d, "ABCD-EFGH-JKLM", nil
}

func (f *fakeBooking) Devices(ctx context.Context) ([]booking.Device, error) {
	if f.down != nil {
		return nil, f.down
	}
	return []booking.Device{testDevice}, nil
}

func (f *fakeBooking) ticket() *booking.QueueTicket {
	svc := testTicket.ID
	return &booking.QueueTicket{ID: 1, LocationID: "stadtbad", Day: testDay, Number: "P001", ServiceID: &svc,
		State: booking.QueueWaiting, CreatedAt: testDay, EstimatedWait: 90 * time.Second, Ahead: 2}
}

func (f *fakeBooking) WalkIn(ctx context.Context, locationID, serviceID string) (*booking.QueueTicket, error) {
	if f.down != nil {
		return nil, f.down
	}
	return f.ticket(), nil
}

func (f *fakeBooking) CheckIn(ctx context.Context, locationID, code string) (*booking.QueueTicket, error) {
	if f.down != nil {
		return nil, f.down
	}
	t := f.ticket()
	t.BookingID = &testBooking.ID
	return t, nil
}

func (f *fakeBooking) AppointmentStart(ctx context.Context, bookingID int64) (time.Time, error) {
	return testStart, f.down
}

func (f *fakeBooking) Redeem(ctx context.Context, deviceID string, r booking.Redemption) (*booking.Redemption, error) {
	if f.down != nil {
		return nil, f.down
	}
	return &r, nil
}

func (f *fakeBooking) Today(ctx context.Context, locationID string) ([]booking.QueueTicket, error) {
	if f.down != nil {
		return nil, f.down
	}
	return []booking.QueueTicket{*f.ticket()}, nil
}

func (f *fakeBooking) CallNext(ctx context.Context, locationID, desk string) (*booking.QueueTicket, error) {
	if f.down != nil {
		return nil, f.down
	}
	t := f.ticket()
	t.State, t.Desk = booking.QueueCalled, &desk
	return t, nil
}

func (f *fakeBooking) Finish(ctx context.Context, locationID string, id int64, state string) (*booking.QueueTicket, error) {
	if f.down != nil {
		return nil, f.down
	}
	t := f.ticket()
	t.State = state
	return t, nil
}

func (f *fakeBooking) Recall(ctx context.Context, locationID string, id int64, desk string) (*booking.QueueTicket, error) {
	if f.down != nil {
		return nil, f.down
	}
	t := f.ticket()
	t.State, t.Desk, t.Recalls = booking.QueueCalled, &desk, 1
	return t, nil
}

func (f *fakeBooking) Transfer(ctx context.Context, locationID string, id int64, serviceID string) (*booking.QueueTicket, error) {
	if f.down != nil {
		return nil, f.down
	}
	t := f.ticket()
	t.State, t.ServiceID = booking.QueueWaiting, &serviceID
	return t, nil
}

type fakeFairness struct{}

func (fakeFairness) Enabled() bool { return true }

func (fakeFairness) Allow(ctx context.Context, bucket, client string) (bool, time.Duration, error) {
	return true, 0, nil
}

func (fakeFairness) Issue(scope string) fairness.Challenge {
	return fairness.Challenge{Challenge: "c", Difficulty: 16, ExpiresAt: testDay}
}

func (fakeFairness) Required(ctx context.Context, location, day string) (bool, error) {
	return false, nil
}

func (fakeFairness) Verify(ctx context.Context, scope, day, challenge, solution string) error {
	return nil
}

type fakePayment struct{ down error }

func (f *fakePayment) Required(svc *booking.Service) bool { return svc.Payment == booking.PayOnline }

func (f *fakePayment) BookPending(ctx context.Context, holdID string, c booking.Contact, svc *booking.Service) (*booking.Confirmation, *payment.Payment, error) {
	if f.down != nil {
		return nil, nil, f.down
	}
	b := testBooking
	b.Status = booking.StatusPendingPayment
	p := testPayment
	return &booking.Confirmation{Booking: &b, ManageToken: testManageToken}, &p, nil
}

func (f *fakePayment) Check(ctx context.Context, reference string) (*payment.Payment, error) {
	return f.PaymentByReference(ctx, reference)
}

func (f *fakePayment) BookingStatus(ctx context.Context, bookingID int64) (string, error) {
	return booking.StatusPendingPayment, f.down
}

func (f *fakePayment) PaymentByReference(ctx context.Context, ref string) (*payment.Payment, error) {
	if f.down != nil {
		return nil, f.down
	}
	if ref != testPayment.Reference {
		return nil, payment.ErrPaymentNotFound
	}
	p := testPayment
	return &p, nil
}

func (f *fakePayment) PaymentByPlatformID(ctx context.Context, platformID string) (*payment.Payment, error) {
	return f.PaymentByReference(ctx, "")
}

func (f *fakePayment) SeenEvent(ctx context.Context, eventID string) (bool, error) {
	return false, f.down
}

func (f *fakePayment) RecordInbox(ctx context.Context, paymentID int64, kind, eventID string, verified bool, body []byte) error {
	return f.down
}

func (f *fakePayment) ListPostings(ctx context.Context, flt payment.PostingFilter) ([]payment.Posting, error) {
	if f.down != nil {
		return nil, f.down
	}
	return []payment.Posting{{ID: 1, PostingID: "pst-1", Kind: "payment", Kassenzeichen: "TB00000001", AmountCents: 900,
		Currency: "EUR", ValueDate: testDay, BookingDate: testDay, CreatedAt: testDay}}, nil
}

func (f *fakePayment) ListPayments(ctx context.Context, flt payment.PaymentFilter) ([]payment.Payment, error) {
	if f.down != nil {
		return nil, f.down
	}
	return []payment.Payment{testPayment}, nil
}

func (f *fakePayment) ListOutbox(ctx context.Context, state string, max int) ([]payment.OutboxItem, error) {
	if f.down != nil {
		return nil, f.down
	}
	return []payment.OutboxItem{{ID: 1, Kind: "posting_http", Reference: "ref-1", State: "dead", Attempts: 8, CreatedAt: testDay}}, nil
}

func (f *fakePayment) Reconcile(ctx context.Context, rep settlement.Report, doc camt.Document) (*reconcile.Reconciliation, error) {
	return nil, f.down
}

func (f *fakePayment) Reconciliation(ctx context.Context, id int64) (*reconcile.Reconciliation, error) {
	if f.down != nil {
		return nil, f.down
	}
	if id != 1 {
		return nil, reconcile.ErrNotFound
	}
	return &reconcile.Reconciliation{ID: 1, SettlementDate: "2030-01-07", Counts: map[string]int{"matched": 1},
		Items: []reconcile.RecItem{{Category: "matched", Reference: "ref-1"}}, CreatedAt: testDay}, nil
}

// Create stands in for the staff accounts.
func (f *fakeBooking) Create(ctx context.Context, n account.NewAccount) (*account.Account, error) {
	if f.down != nil {
		return nil, f.down
	}
	return &account.Account{ID: 1, Login: n.Login, DisplayName: n.DisplayName, Roles: n.Roles, LocationID: n.LocationID}, nil
}
