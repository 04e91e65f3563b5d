package web

import (
	"context"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// The finance pages under /intern/kasse (role finance; administrators may
// read them and retry dead letters too): payments and postings with
// filters and CSV export, the export files with their checksums,
// reconciliation runs from an uploaded settlement report and camt.053
// statement, and the dead letters of the delivery outbox.

// Ledger is what the finance pages read of the payment side and the one
// thing they change: a dead letter put back in line.
type Ledger interface {
	ListPostings(ctx context.Context, f payment.PostingFilter) ([]payment.Posting, error)
	ListPayments(ctx context.Context, f payment.PaymentFilter) ([]payment.Payment, error)
	// PaymentByReference returns a payment, or payment.ErrPaymentNotFound.
	PaymentByReference(ctx context.Context, reference string) (*payment.Payment, error)
	// PaymentByBooking returns the payment of a booking, or
	// payment.ErrPaymentNotFound.
	PaymentByBooking(ctx context.Context, bookingID int64) (*payment.Payment, error)
	// PostingsByReference lists the postings of payments.
	PostingsByReference(ctx context.Context, refs []string) ([]payment.Posting, error)
	// ListOutbox lists delivery jobs in a state ("dead" for dead letters).
	ListOutbox(ctx context.Context, state string, max int) ([]payment.OutboxItem, error)
	// RetryDeadLetter puts a dead letter back in line, or answers
	// payment.ErrNotDeadLetter.
	RetryDeadLetter(ctx context.Context, id int64, now time.Time) error
}

// Reconciliations runs and lists reconciliations.
type Reconciliations interface {
	// Reconcile reads a settlement report, a camt.053 statement and
	// camt.054 breakdowns of its batch entries (none or several) and
	// stores the run; a file that cannot be read answers an error
	// wrapping ErrSettlementUnreadable, ErrStatementUnreadable or
	// ErrBreakdownUnreadable.
	Reconcile(ctx context.Context, settlementFile, statementFile []byte, breakdowns [][]byte) (*reconcile.Reconciliation, error)
	// Reconciliation returns a run, or reconcile.ErrNotFound.
	Reconciliation(ctx context.Context, id int64) (*reconcile.Reconciliation, error)
	// ReconciliationRuns lists the newest runs without their items.
	ReconciliationRuns(ctx context.Context, max int) ([]reconcile.Reconciliation, error)
}

// Unreadable uploads of a reconciliation.
var (
	ErrSettlementUnreadable = errors.New("web: settlement report unreadable")
	ErrStatementUnreadable  = errors.New("web: bank statement unreadable")
	ErrBreakdownUnreadable  = errors.New("web: camt.054 breakdown unreadable")
)

// StaffBookings reads a booking by its code for staff (no manage token).
type StaffBookings interface {
	// BookingByCode returns a booking, or booking.ErrBookingNotFound.
	BookingByCode(ctx context.Context, code string) (*booking.Booking, error)
}

// financeRoles may read the finance pages; only finance staff change
// anything there (start a reconciliation, retry a dead letter, close a
// refund).
var financeRoles = []auth.Role{auth.RoleFinance, auth.RoleAdmin}

// mayChange reports whether the member of staff may act on the finance
// pages, not only read them.
func mayChange(c *fiber.Ctx) bool { return auth.StaffOf(c).Has(auth.RoleFinance) }

// Limits of the finance pages.
const (
	// listLimit bounds the rows of a list page and its CSV download.
	listLimit = 1000
	// maxUploadFile bounds one uploaded file; both files of a
	// reconciliation together stay under the server's request limit.
	maxUploadFile = 120 << 10
	// maxKassenzeichen and maxReference bound those filters (at most what
	// the request screening lets through, so the page can say it next to
	// the field).
	maxKassenzeichen = 32
	maxReference     = 128
)

func (h *Handler) financeRoutes(app fiber.Router) {
	if h.Ledger == nil {
		return
	}
	g := app.Group("/intern/kasse", h.staffPage(financeRoles...))
	g.Get("", h.financeIndex)
	g.Get("/zahlungen", h.financePayments)
	g.Get("/zahlungen.csv", h.financePaymentsCSV)
	g.Get("/zahlungen/:reference", h.financePayment)
	g.Get("/buchungen", h.financePostings)
	g.Get("/buchungen.csv", h.financePostingsCSV)
	g.Get("/termine/:code", h.financeBooking)
	g.Get("/exporte", h.financeExports)
	g.Get("/exporte/:name", h.financeExportFile)
	if h.Reconciliations != nil {
		g.Get("/abgleich", h.reconciliations)
		g.Post("/abgleich", h.staffPage(auth.RoleFinance), h.startReconciliation)
		g.Get("/abgleich/:id", h.reconciliationRun)
		g.Get("/abgleich/:id/csv", h.reconciliationCSV)
	}
	h.refundRoutes(g)
	g.Get("/fehler", h.deadLetters)
	g.Post("/fehler/:id/wiederholen", h.staffPage(auth.RoleFinance), h.retryDeadLetter)
}

// berlin is the zone dates are shown in when a location has none at hand.
var berlin = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Berlin"); err == nil {
		return l
	}
	return time.UTC
}()

// option is one entry of a select list.
type option struct {
	Value, Text string
	Selected    bool
}

// ledgerFilter is the filter form of the payment and posting lists, as
// typed, with the errors of its fields.
type ledgerFilter struct {
	From, To, Status, Location, Service, Kassenzeichen, Reference string
	Errors                                                        map[string]string
	from, to                                                      time.Time
}

// query is the filter as query string, for the CSV link.
func (f *ledgerFilter) Query() string {
	q := url.Values{}
	for k, v := range map[string]string{"von": f.From, "bis": f.To, "status": f.Status, "standort": f.Location,
		"dienst": f.Service, "kassenzeichen": f.Kassenzeichen, "referenz": f.Reference} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// parseLedgerFilter reads the filter form; statuses are the values the
// status select offers.
func (h *Handler) parseLedgerFilter(c *fiber.Ctx, t texts, statuses []string) *ledgerFilter {
	f := &ledgerFilter{From: c.Query("von"), To: c.Query("bis"), Status: c.Query("status"), Location: c.Query("standort"),
		Service: c.Query("dienst"), Kassenzeichen: c.Query("kassenzeichen"), Reference: c.Query("referenz"), Errors: map[string]string{}}
	day := func(field, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			f.Errors[field] = t.get("fin_err_date")
		}
		return d
	}
	f.from, f.to = day("von", f.From), day("bis", f.To)
	if !f.from.IsZero() && !f.to.IsZero() && f.to.Before(f.from) {
		f.Errors["bis"] = t.get("fin_err_range")
	}
	if f.Status != "" && !contains(statuses, f.Status) {
		f.Errors["status"] = t.get("fin_err_choice")
		f.Status = ""
	}
	if f.Location != "" {
		if _, _, err := h.Catalog.Location(f.Location); err != nil {
			f.Errors["standort"] = t.get("fin_err_choice")
			f.Location = ""
		}
	}
	if f.Service != "" && h.serviceNames()[f.Service] == "" {
		f.Errors["dienst"] = t.get("fin_err_choice")
		f.Service = ""
	}
	for field, v := range map[string]string{"kassenzeichen": f.Kassenzeichen, "referenz": f.Reference} {
		if n := map[string]int{"kassenzeichen": maxKassenzeichen, "referenz": maxReference}[field]; utf8.RuneCountInString(v) > n {
			f.Errors[field] = t.f("fin_err_long", n)
		}
	}
	return f
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// errorList is the error summary of a form, in the order of its fields.
func errorList(errs map[string]string, order ...string) []fieldError {
	var out []fieldError
	for _, f := range order {
		if e, ok := errs[f]; ok {
			out = append(out, fieldError{Field: f, Text: e})
		}
	}
	return out
}

// addAll adds the errors of a list, in its order.
func (p *formProblems) addAll(errs []fieldError) {
	for _, e := range errs {
		p.add(e.Field, e.Text)
	}
}

// serviceNames maps every service id to its name.
func (h *Handler) serviceNames() map[string]string {
	names := map[string]string{}
	for _, l := range h.Catalog.Locations() {
		svcs, err := h.Catalog.Services(l.ID)
		if err != nil {
			continue
		}
		for _, s := range svcs {
			names[s.ID] = s.Name
		}
	}
	return names
}

func (h *Handler) locationOptions(selected string) []option {
	var out []option
	for _, l := range h.Catalog.Locations() {
		out = append(out, option{Value: l.ID, Text: l.Name, Selected: l.ID == selected})
	}
	return out
}

func (h *Handler) serviceOptions(selected string) []option {
	var out []option
	for _, l := range h.Catalog.Locations() {
		svcs, _ := h.Catalog.Services(l.ID)
		for _, s := range svcs {
			out = append(out, option{Value: s.ID, Text: s.Name + " (" + l.Name + ")", Selected: s.ID == selected})
		}
	}
	return out
}

func statusOptions(t texts, prefix string, values []string, selected string) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: v, Text: t.get(prefix + v), Selected: v == selected}
	}
	return out
}

// Payment states and posting kinds the filters offer.
var (
	paymentStates = []string{string(payment.StateCreated), string(payment.StateInitiated), string(payment.StatePaid),
		string(payment.StateConfirmed), string(payment.StateCancelled), string(payment.StateFailed),
		string(payment.StateExpired), string(payment.StateRefunded)}
	postingKinds = []string{"payment", "storno"}
)

// filterForm is what the filter form of a list shows.
type filterForm struct {
	Action    string
	F         *ledgerFilter
	Statuses  []option
	Locations []option
	Services  []option
}

type financeList struct {
	Form filterForm
	// Rows are the list's lines; Capped says the list was cut at
	// listLimit.
	Rows   any
	Count  int
	Capped bool
	CSV    string
	formProblems
}

func (h *Handler) financeIndex(c *fiber.Ctx) error {
	return h.renderStaff(c, fiber.StatusOK, "staff_finance", "fin_title", nil)
}

// paymentRow is one line of the payment list.
type paymentRow struct {
	Reference, Kassenzeichen, BookingCode, Service, Amount, State, Method, Created string
}

func (h *Handler) paymentRows(c *fiber.Ctx, t texts, f *ledgerFilter) ([]payment.Payment, error) {
	to := f.to
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1) // the store's end is exclusive
	}
	return h.Ledger.ListPayments(c.UserContext(), payment.PaymentFilter{State: f.Status, Kassenzeichen: f.Kassenzeichen,
		From: inBerlin(f.from), To: inBerlin(to), Limit: listLimit, Location: f.Location, Service: f.Service, Reference: f.Reference})
}

// inBerlin is the Berlin midnight of a date parsed in UTC.
func inBerlin(d time.Time) time.Time {
	if d.IsZero() {
		return d
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, berlin)
}

func (h *Handler) financePayments(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	f := h.parseLedgerFilter(c, t, paymentStates)
	data := financeList{Form: filterForm{Action: "/intern/kasse/zahlungen", F: f, Statuses: statusOptions(t, "fin_state_", paymentStates, f.Status),
		Locations: h.locationOptions(f.Location), Services: h.serviceOptions(f.Service)}, CSV: "/intern/kasse/zahlungen.csv" + f.Query()}
	status := fiber.StatusOK
	var rows []paymentRow
	if len(f.Errors) > 0 {
		status = fiber.StatusBadRequest
		data.addAll(errorList(f.Errors, "von", "bis", "status", "standort", "dienst", "kassenzeichen", "referenz"))
	} else {
		list, err := h.paymentRows(c, t, f)
		if err != nil {
			return err
		}
		names := h.serviceNames()
		for _, p := range list {
			rows = append(rows, paymentRow{Reference: p.Reference, Kassenzeichen: p.Kassenzeichen, BookingCode: p.BookingCode,
				Service: names[p.ServiceID], Amount: t.euro(p.AmountCents), State: t.get("fin_state_" + string(p.State)),
				Method: p.Method, Created: p.CreatedAt.In(berlin).Format("02.01.2006 15:04")})
		}
		data.Count, data.Capped = len(rows), len(rows) >= listLimit
	}
	data.Rows = rows
	return h.renderStaff(c, status, "staff_finance_payments", "fin_payments", data)
}

func (h *Handler) financePaymentsCSV(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	f := h.parseLedgerFilter(c, t, paymentStates)
	if len(f.Errors) > 0 {
		return h.financePayments(c)
	}
	list, err := h.paymentRows(c, t, f)
	if err != nil {
		return err
	}
	names := h.serviceNames()
	rows := make([][]string, len(list))
	for i, p := range list {
		paid := ""
		if p.PaidAt != nil {
			paid = p.PaidAt.In(berlin).Format("02.01.2006 15:04")
		}
		rows[i] = []string{p.Reference, p.Kassenzeichen, p.BookingCode, p.ServiceID, names[p.ServiceID], strconv.Itoa(p.Units),
			csvCents(p.AmountCents), p.Currency, string(p.State), p.Method, p.Platform, p.PlatformID, paid,
			csvCents(p.RefundedCents), p.CreatedAt.In(berlin).Format("02.01.2006 15:04"), p.Note}
	}
	return sendCSV(c, "zahlungen.csv", []string{"referenz", "kassenzeichen", "buchungscode", "dienst", "dienst_name", "anzahl",
		"betrag", "waehrung", "status", "zahlungsart", "plattform", "plattform_id", "bezahlt_am", "erstattet", "angelegt_am", "notiz"}, rows)
}

// postingRow is one line of the posting list.
type postingRow struct {
	PostingID, Kind, Kassenzeichen, Amount, ValueDate, BookingDate, Sachkonto, Text, Reference, BookingCode string
}

func (h *Handler) postingList(c *fiber.Ctx, f *ledgerFilter) ([]payment.Posting, error) {
	return h.Ledger.ListPostings(c.UserContext(), payment.PostingFilter{Kind: f.Status, Kassenzeichen: f.Kassenzeichen,
		From: f.from, To: f.to, Limit: listLimit, Location: f.Location, Service: f.Service, Reference: f.Reference})
}

func (h *Handler) financePostings(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	f := h.parseLedgerFilter(c, t, postingKinds)
	data := financeList{Form: filterForm{Action: "/intern/kasse/buchungen", F: f, Statuses: statusOptions(t, "fin_kind_", postingKinds, f.Status),
		Locations: h.locationOptions(f.Location), Services: h.serviceOptions(f.Service)}, CSV: "/intern/kasse/buchungen.csv" + f.Query()}
	status := fiber.StatusOK
	var rows []postingRow
	if len(f.Errors) > 0 {
		status = fiber.StatusBadRequest
		data.addAll(errorList(f.Errors, "von", "bis", "status", "standort", "dienst", "kassenzeichen", "referenz"))
	} else {
		list, err := h.postingList(c, f)
		if err != nil {
			return err
		}
		for _, p := range list {
			rows = append(rows, postingRow{PostingID: p.PostingID, Kind: t.get("fin_kind_" + p.Kind), Kassenzeichen: p.Kassenzeichen,
				Amount: t.euro(p.AmountCents), ValueDate: p.ValueDate.Format("02.01.2006"), BookingDate: p.BookingDate.Format("02.01.2006"),
				Sachkonto: p.Sachkonto, Text: p.BookingText, Reference: p.PaymentReference, BookingCode: p.BookingCode})
		}
		data.Count, data.Capped = len(rows), len(rows) >= listLimit
	}
	data.Rows = rows
	return h.renderStaff(c, status, "staff_finance_postings", "fin_postings", data)
}

func (h *Handler) financePostingsCSV(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	f := h.parseLedgerFilter(c, t, postingKinds)
	if len(f.Errors) > 0 {
		return h.financePostings(c)
	}
	list, err := h.postingList(c, f)
	if err != nil {
		return err
	}
	rows := make([][]string, len(list))
	for i, p := range list {
		rows[i] = []string{p.PostingID, p.Kind, p.Reverses, p.Kassenzeichen, csvCents(p.AmountCents), p.Currency,
			p.ValueDate.Format("02.01.2006"), p.BookingDate.Format("02.01.2006"), p.Haushaltsstelle, p.Produkt, p.Sachkonto,
			p.Kostenstelle, p.BookingText, p.PaymentMethod, p.Platform, p.PlatformID, p.PaymentReference, p.BookingCode}
	}
	return sendCSV(c, "buchungen.csv", []string{"buchungs_id", "art", "storno_zu", "kassenzeichen", "betrag", "waehrung",
		"wertstellung", "buchungsdatum", "haushaltsstelle", "produkt", "sachkonto", "kostenstelle", "buchungstext",
		"zahlungsart", "plattform", "plattform_id", "referenz", "buchungscode"}, rows)
}

// paymentDetail is the page of one payment.
type paymentDetail struct {
	P        *payment.Payment
	Service  string
	Amount   string
	Refunded string
	State    string
	Created  string
	Paid     string
	Postings []postingRow
}

func (h *Handler) financePayment(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	p, err := h.Ledger.PaymentByReference(c.UserContext(), c.Params("reference"))
	if errors.Is(err, payment.ErrPaymentNotFound) {
		return h.staffNotFound(c)
	}
	if err != nil {
		return err
	}
	postings, err := h.Ledger.PostingsByReference(c.UserContext(), []string{p.Reference})
	if err != nil {
		return err
	}
	d := paymentDetail{P: p, Service: h.serviceNames()[p.ServiceID], Amount: t.euro(p.AmountCents), Refunded: t.euro(p.RefundedCents),
		State: t.get("fin_state_" + string(p.State)), Created: p.CreatedAt.In(berlin).Format("02.01.2006 15:04:05")}
	if p.PaidAt != nil {
		d.Paid = p.PaidAt.In(berlin).Format("02.01.2006 15:04:05")
	}
	for _, q := range postings {
		d.Postings = append(d.Postings, postingRow{PostingID: q.PostingID, Kind: t.get("fin_kind_" + q.Kind), Kassenzeichen: q.Kassenzeichen,
			Amount: t.euro(q.AmountCents), ValueDate: q.ValueDate.Format("02.01.2006"), BookingDate: q.BookingDate.Format("02.01.2006"),
			Sachkonto: q.Sachkonto, Text: q.BookingText})
	}
	return h.renderStaff(c, fiber.StatusOK, "staff_finance_payment", "fin_payment", d)
}

// bookingDetail is the finance page of one booking: what it is for and
// when, without the citizen's contact data.
type bookingDetail struct {
	B                       *booking.Booking
	Location, Service, When string
	Status, Created         string
	Cancelled               string
	Payment                 *payment.Payment
}

func (h *Handler) financeBooking(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	if h.StaffBookings == nil {
		return h.staffNotFound(c)
	}
	b, err := h.StaffBookings.BookingByCode(c.UserContext(), c.Params("code"))
	if errors.Is(err, booking.ErrBookingNotFound) {
		return h.staffNotFound(c)
	}
	if err != nil {
		return err
	}
	d := bookingDetail{B: b, Service: h.serviceNames()[b.ServiceID], Status: t.get("status_" + b.Status),
		Created: b.CreatedAt.In(berlin).Format("02.01.2006 15:04")}
	tz := berlin
	if loc, z, err := h.Catalog.Location(b.LocationID); err == nil {
		d.Location, tz = loc.Name, z
	}
	d.When = t.date(b.Start.In(tz)) + ", " + t.clock(b.Start.In(tz))
	if b.CancelledAt != nil {
		d.Cancelled = b.CancelledAt.In(berlin).Format("02.01.2006 15:04")
	}
	if p, err := h.Ledger.PaymentByBooking(c.UserContext(), b.ID); err == nil {
		d.Payment = p
	} else if !errors.Is(err, payment.ErrPaymentNotFound) {
		return err
	}
	return h.renderStaff(c, fiber.StatusOK, "staff_finance_booking", "fin_booking", d)
}

// exportRow is one export file with its checksum.
type exportRow struct {
	Name, Size, Modified, Checksum string
	HasChecksum                    bool
}

func (h *Handler) financeExports(c *fiber.Ctx) error {
	var rows []exportRow
	if h.ExportDir != "" {
		files, err := payment.ExportFiles(h.ExportDir)
		if err != nil {
			return err
		}
		sums := map[string]string{}
		for _, f := range files {
			if filepathExt(f.Name) == ".sha256" {
				sums[f.Name[:len(f.Name)-len(".sha256")]] = readChecksum(h.ExportDir, f.Name)
			}
		}
		for _, f := range files {
			if filepathExt(f.Name) != ".csv" {
				continue
			}
			sum, ok := sums[f.Name]
			rows = append(rows, exportRow{Name: f.Name, Size: strconv.FormatInt(f.Size, 10), Modified: f.ModTime.In(berlin).Format("02.01.2006 15:04"),
				Checksum: sum, HasChecksum: ok})
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].Name > rows[j].Name })
	}
	return h.renderStaff(c, fiber.StatusOK, "staff_finance_exports", "fin_exports", struct {
		Rows       []exportRow
		Configured bool
	}{rows, h.ExportDir != ""})
}
