package web

import (
	"encoding/json"
	"errors"
	"mime"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
)

// The citizen's data rights on the manage page: a copy of everything
// stored about the booking's person (a JSON download) and its deletion.
// Both need the manage token, like every other manage page; neither
// shows anything of another booking.

// dataExport is the downloaded file. It names what is stored, never an
// internal key: no manage token or its hash, no keyed hash of the
// contact, no hold id, no payment platform's URL.
type dataExport struct {
	BookingCode  string         `json:"booking_code"`
	Status       string         `json:"status"`
	Language     string         `json:"language"`
	Name         string         `json:"name"`
	Email        string         `json:"email"`
	Phone        string         `json:"phone"`
	Location     exportLocation `json:"location"`
	Services     []exportItem   `json:"services"`
	Start        time.Time      `json:"start"`
	End          time.Time      `json:"end"`
	CreatedAt    time.Time      `json:"created_at"`
	CancelledAt  *time.Time     `json:"cancelled_at"`
	AnonymisedAt *time.Time     `json:"personal_data_deleted_at"`
	Mails        []exportMail   `json:"mails"`
	Payment      *exportPayment `json:"payment"`
}

type exportLocation struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
}

type exportItem struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type exportMail struct {
	Kind     string     `json:"kind"`
	QueuedAt time.Time  `json:"queued_at"`
	DoneAt   *time.Time `json:"done_at"`
	State    string     `json:"state"`
}

type exportPayment struct {
	Reference     string     `json:"reference"`
	Kassenzeichen string     `json:"kassenzeichen"`
	AmountCents   int64      `json:"amount_cents"`
	Currency      string     `json:"currency"`
	State         string     `json:"state"`
	Method        string     `json:"method,omitempty"`
	PaidAt        *time.Time `json:"paid_at"`
	RefundedCents int64      `json:"refunded_cents"`
}

func exportOf(d *bookingData, pd *booking.PersonalData) dataExport {
	b, tz := pd.Booking, d.zone
	local := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		l := t.In(tz)
		return &l
	}
	x := dataExport{BookingCode: b.Code, Status: b.Status, Language: b.Lang, Name: b.Name, Email: b.Email, Phone: b.Phone,
		Location: exportLocation{ID: d.Location.ID, Name: d.Location.Name, Address: d.Address},
		Start:    b.Start.In(tz), End: b.End.In(tz), CreatedAt: b.CreatedAt.In(tz),
		CancelledAt: local(b.CancelledAt), AnonymisedAt: local(b.AnonymisedAt),
		Services: make([]exportItem, 0, len(d.Lines)), Mails: make([]exportMail, 0, len(pd.Mails))}
	for _, l := range d.Lines {
		x.Services = append(x.Services, exportItem{ID: l.Service.ID, Name: l.Service.Name, Count: l.Count})
	}
	for _, m := range pd.Mails {
		x.Mails = append(x.Mails, exportMail{Kind: m.Kind, QueuedAt: m.QueuedAt.In(tz), DoneAt: local(m.DoneAt), State: m.State})
	}
	if p := d.Payment; p != nil {
		x.Payment = &exportPayment{Reference: p.Reference, Kassenzeichen: p.Kassenzeichen, AmountCents: p.AmountCents,
			Currency: p.Currency, State: string(p.State), Method: p.Method, PaidAt: local(p.PaidAt), RefundedCents: p.RefundedCents}
	}
	return x
}

// dataDownload is "download my data": a GET that changes nothing.
func (h *Handler) dataDownload(c *fiber.Ctx) error {
	v := h.newView(c, "booked_title", stepNone)
	d, _, err := h.access(c, v)
	if d == nil {
		return err
	}
	pd, err := h.Privacy.PersonalData(c.UserContext(), d.Booking.ID)
	if errors.Is(err, booking.ErrBookingNotFound) {
		return h.noAccess(c)
	}
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(exportOf(d, pd), "", "  ")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": "termin-" + d.Booking.Code + "-daten.json"}))
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(append(data, '\n'))
}

// eraseData is the deletion's confirmation page and, once the data is
// gone, its result.
type eraseData struct {
	*bookingData
	// Ahead: the booking is cancelled first.
	Ahead bool
	// Kept: the treasury keeps the payment's record.
	Kept bool
	// DeletedOn is the day the data was deleted (the result page).
	DeletedOn string
}

func (h *Handler) eraseView(c *fiber.Ctx, v *view, d *bookingData) {
	e := eraseData{bookingData: d, Ahead: d.CanCancel, Kept: paymentKept(d.Payment)}
	if d.Anonymised {
		v.Title = v.texts.get("erase_done_title")
		e.DeletedOn = v.texts.date(d.Booking.AnonymisedAt.In(d.zone))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	v.D = e
}

// eraseForm asks before the deletion and says what follows from it (the
// cancellation with its refund rule, no more mails); after the deletion
// it is the confirmation that the data is gone.
func (h *Handler) eraseForm(c *fiber.Ctx) error {
	v := h.newView(c, "erase_title", stepNone)
	d, _, err := h.access(c, v)
	if d == nil {
		return err
	}
	h.eraseView(c, v, d)
	return h.render(c, fiber.StatusOK, "erase", v)
}

// erase deletes behind the confirmation form (a POST with the form
// token): a booking still ahead is cancelled the normal way first, so
// its units are freed and a payment is refunded by the cancel rules, then
// name, e-mail address and phone number are removed. The booking stays,
// anonymised, for the statistics and the treasury.
func (h *Handler) erase(c *fiber.Ctx) error {
	v := h.newView(c, "erase_title", stepNone)
	d, token, err := h.access(c, v)
	if d == nil {
		return err
	}
	if !csrfOK(c) {
		h.eraseView(c, v, d)
		v.Errors = []fieldError{{"erase-confirm", v.texts.get("err_session")}}
		return h.render(c, fiber.StatusForbidden, "erase", v)
	}
	if d.Anonymised { // the form sent twice
		return c.Redirect("/termin/"+d.Booking.Code+"/daten-loeschen", fiber.StatusSeeOther)
	}
	if d.CanCancel {
		// ErrTooLate: it began meanwhile; it is no longer ahead, so the
		// data can go all the same.
		if err := h.Bookings.Cancel(c.UserContext(), d.Booking.Code, token); err != nil &&
			!errors.Is(err, booking.ErrBookingCancelled) && !errors.Is(err, booking.ErrAlreadyCancelled) && !errors.Is(err, booking.ErrTooLate) {
			return err
		}
	}
	if err := h.Privacy.AnonymiseBooking(c.UserContext(), d.Booking.ID); err != nil {
		return err
	}
	h.Log.InfoContext(c.UserContext(), "personal data deleted at the citizen's request", "booking", d.Booking.ID)
	return c.Redirect("/termin/"+d.Booking.Code+"/daten-loeschen", fiber.StatusSeeOther)
}

// paymentKept reports whether the treasury keeps a record of the
// booking's payment (the deletion page says so).
func paymentKept(p *payment.Payment) bool {
	return p != nil && (p.State == payment.StatePaid || p.State == payment.StateConfirmed || p.State == payment.StateRefunded)
}
