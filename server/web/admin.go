package web

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// Administration is what the administration pages change: the catalog
// (locations, services and pool ticket types with their account
// assignment) and the devices.
type Administration interface {
	// Catalog lists all locations and their active services.
	Catalog() ([]booking.Location, []booking.Service)
	// Apply saves a change of the catalog on every replica. A change
	// that leaves live bookings outside the new rules answers them with
	// booking.ErrConflicts, unless ch.Cancel names every one of them:
	// they are then cancelled for the office (the citizens get the
	// cancellation mail, paid bookings a refund) before the change is
	// saved, and returned. ErrCatalogInvalid for a change the booking
	// core refuses.
	Apply(ctx context.Context, ch CatalogChange) ([]booking.Conflict, error)
	// Conflicts lists the live bookings from now on that a location with
	// these active services leaves outside its rules.
	Conflicts(ctx context.Context, l *booking.Location, services []booking.Service) ([]booking.Conflict, error)
	// Accounting returns a service's account assignment (empty fields
	// when none is configured).
	Accounting(ctx context.Context, serviceID string) (payment.Accounting, error)
	// Devices lists the devices and the revoked ones' revocation times.
	Devices(ctx context.Context) ([]booking.Device, map[string]time.Time, error)
	// RegisterDevice creates a device and returns its one-time enrollment
	// code.
	RegisterDevice(ctx context.Context, locationID, name, mode string) (*booking.Device, string, error)
	// RevokeDevice ends a device's token; ErrDeviceUnknown when none.
	RevokeDevice(ctx context.Context, id string) error
}

// CatalogChange is one change of the catalog by an administrator.
type CatalogChange struct {
	// Locations are the changed locations, whole.
	Locations []booking.Location
	// Services are all active services of those locations, in order;
	// services of theirs not listed are removed.
	Services []booking.Service
	// Accounting are account assignments to save with the change.
	Accounting []payment.Accounting
	// Cancel are the conflicting bookings the administrator chose to
	// cancel, and Reason why (kept with each).
	Cancel    []int64
	Reason    string
	AccountID int64
}

// Administration outcomes.
var (
	ErrCatalogInvalid = errors.New("web: the booking core refuses this catalog")
	ErrDeviceUnknown  = errors.New("web: no such device")
)

// adminPrefix is where the administration pages live.
const adminPrefix = "/intern/verwaltung"

// adminRoutes mounts the administration pages (role admin).
func (h *Handler) adminRoutes(app fiber.Router) {
	if h.Admin == nil {
		return
	}
	// The role is checked per route, so the group leaves the other
	// pages under /intern/verwaltung (staff accounts) alone.
	g := app.Group(adminPrefix)
	admin := h.staffPage(auth.RoleAdmin)
	g.Get("", admin, h.adminHome)
	g.Get("/standorte", admin, h.adminLocations)
	g.Get("/standorte/neu", admin, h.adminLocationNew)
	g.Post("/standorte/neu", admin, h.adminLocationSave)
	g.Get("/standorte/:id", admin, h.adminLocationEdit)
	g.Post("/standorte/:id", admin, h.adminLocationSave)
	for _, area := range []string{"dienste", "tickets"} {
		g.Get("/"+area, admin, h.adminServices)
		g.Get("/"+area+"/neu", admin, h.adminServiceNew)
		g.Post("/"+area+"/neu", admin, h.adminServiceSave)
		g.Get("/"+area+"/:id", admin, h.adminServiceEdit)
		g.Post("/"+area+"/:id", admin, h.adminServiceSave)
		g.Post("/"+area+"/:id/entfernen", admin, h.adminServiceRemove)
	}
	g.Get("/geraete", admin, h.adminDevices)
	g.Post("/geraete", admin, h.adminDeviceEnrol)
	g.Post("/geraete/:id/sperren", admin, h.adminDeviceRevoke)
	g.Get("/stadtdatei", admin, h.adminCityFile)
	g.Get("/stadtdatei.json", admin, h.adminCityDownload)
	g.Post("/stadtdatei", admin, h.adminCityUpload)
}

func (h *Handler) adminHome(c *fiber.Ctx) error {
	return h.adminRender(c, fiber.StatusOK, "staff_admin", "adm_title", nil, nil)
}

// adminForm reads a posted form into values and collects the errors of
// its fields, in the order of the form.
type adminForm struct {
	c      *fiber.Ctx
	t      texts
	Values map[string]string
	Err    map[string]string
	errs   []fieldError
}

func newAdminForm(c *fiber.Ctx) *adminForm {
	t := textsFor(lang(c))
	return &adminForm{c: c, t: t, Values: map[string]string{}, Err: map[string]string{}}
}

// fail records an error of a field (the first one of a field counts).
func (f *adminForm) fail(field, key string, args ...any) {
	if _, ok := f.Err[field]; ok {
		return
	}
	msg := f.t.get(key)
	if len(args) > 0 {
		msg = f.t.f(key, args...)
	}
	f.Err[field] = msg
	f.errs = append(f.errs, fieldError{field, msg})
}

// text reads a single-line text field of at most max characters.
func (f *adminForm) text(field string, max int, required bool) string {
	v := strings.TrimSpace(f.c.FormValue(field))
	f.Values[field] = v
	switch {
	case !utf8.ValidString(v) || strings.ContainsFunc(v, isControl):
		f.fail(field, "adm_err_chars")
	case utf8.RuneCountInString(v) > max:
		f.fail(field, "adm_err_long", max)
	case required && v == "":
		f.fail(field, "adm_err_required")
	}
	return v
}

// multiline reads a text area: lines, no other control characters.
func (f *adminForm) multiline(field string, max int) string {
	v := strings.ReplaceAll(strings.TrimSpace(f.c.FormValue(field)), "\r\n", "\n")
	f.Values[field] = v
	switch {
	case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r != '\n' && isControl(r) }):
		f.fail(field, "adm_err_chars")
	case utf8.RuneCountInString(v) > max:
		f.fail(field, "adm_err_long", max)
	}
	return v
}

// number reads a whole number between lo and hi.
func (f *adminForm) number(field string, lo, hi int) int {
	v := strings.TrimSpace(f.c.FormValue(field))
	f.Values[field] = v
	n, err := strconv.Atoi(v)
	if err != nil || len(v) > 7 {
		f.fail(field, "adm_err_number", lo, hi)
		return 0
	}
	if n < lo || n > hi {
		f.fail(field, "adm_err_number", lo, hi)
	}
	return n
}

// euro reads an amount in euros ("37", "37,50", "37.50") as cents.
func (f *adminForm) euro(field string) int64 {
	v := strings.TrimSpace(f.c.FormValue(field))
	f.Values[field] = v
	cents, ok := parseEuro(v)
	if !ok {
		f.fail(field, "adm_err_euro")
	}
	return cents
}

func parseEuro(v string) (int64, bool) {
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "€"))
	if v == "" || len(v) > 12 {
		return 0, false
	}
	whole, frac, _ := strings.Cut(strings.ReplaceAll(v, ",", "."), ".")
	if len(frac) > 2 || whole == "" {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	e, err1 := strconv.ParseInt(whole, 10, 64)
	c, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || e < 0 || e > 1_000_000 {
		return 0, false
	}
	return e*100 + c, true
}

// formatEuro writes cents the way parseEuro reads them back ("37,50").
func formatEuro(cents int64) string {
	return strconv.FormatInt(cents/100, 10) + "," + strconv.FormatInt(cents%100/10, 10) + strconv.FormatInt(cents%10, 10)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// conflictView is a booking a change would cancel, as the page lists it.
type conflictView struct {
	ID      int64
	Code    string
	When    string
	Service string
	Status  string
	Reason  string
}

// conflictsView lists the conflicts of a change and the administrator's
// choice to cancel them.
type conflictsView struct {
	List   []conflictView
	Reason string
	// Now: the bookings lie outside the rules in force (booked while a
	// change was being made), not outside a change.
	Now bool
}

func (h *Handler) conflictViews(t texts, cs []booking.Conflict) []conflictView {
	locs, services := h.Admin.Catalog()
	names := map[string]string{}
	for _, s := range services {
		names[s.ID] = s.Name
	}
	zones := map[string]*time.Location{}
	for _, l := range locs {
		zones[l.ID], _ = l.TimeLocation()
	}
	out := make([]conflictView, 0, len(cs))
	for _, c := range cs {
		b := c.Booking
		tz := zones[b.LocationID]
		if tz == nil {
			tz = time.UTC
		}
		name := names[b.ServiceID]
		if name == "" {
			name = b.ServiceID
		}
		if len(b.Items) > 1 {
			name += " (+" + strconv.Itoa(len(b.Items)-1) + ")"
		}
		out = append(out, conflictView{ID: b.ID, Code: b.Code, When: t.date(b.Start.In(tz)) + ", " + t.clock(b.Start.In(tz)),
			Service: name, Status: t.get("status_" + b.Status), Reason: t.get("adm_conflict_" + c.Reason)})
	}
	return out
}

// cancelChoice reads the administrator's choice to cancel the listed
// conflicting bookings: the ids and a reason, or none.
func (f *adminForm) cancelChoice() ([]int64, string) {
	if f.c.FormValue("cancel_conflicts") != "1" {
		return nil, ""
	}
	var ids []int64
	var raws []string
	if mf, err := f.c.MultipartForm(); err == nil {
		raws = mf.Value["cancel_id"]
	} else {
		for _, r := range f.c.Request().PostArgs().PeekMulti("cancel_id") {
			raws = append(raws, string(r))
		}
	}
	for _, raw := range raws {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err == nil && id > 0 && len(ids) < 10000 {
			ids = append(ids, id)
		}
	}
	reason := f.text("cancel_reason", maxReasonLen, true)
	if _, bad := f.Err["cancel_reason"]; bad {
		// Without a reason nothing is cancelled; the conflicts are
		// listed again with the message next to the reason.
		return nil, ""
	}
	return ids, reason
}

// ready reports whether the change can be tried: no errors but perhaps
// the cancellation's reason.
func (f *adminForm) ready() bool {
	for _, e := range f.errs {
		if e.Field != "cancel_reason" {
			return false
		}
	}
	return true
}

// applyChange applies a change; on conflicts it fills the form's error
// and returns the conflicts to list (nil error). done reports that the
// change was saved.
func (h *Handler) applyChange(c *fiber.Ctx, f *adminForm, ch CatalogChange) (cancelled []booking.Conflict, conflicts *conflictsView, done bool, err error) {
	if s := auth.StaffOf(c); s != nil {
		ch.AccountID = s.AccountID
	}
	cs, err := h.Admin.Apply(c.UserContext(), ch)
	switch {
	case errors.Is(err, booking.ErrConflicts):
		if len(cs) == 1 {
			f.fail("cancel_conflicts", "adm_err_conflicts_1")
		} else {
			f.fail("cancel_conflicts", "adm_err_conflicts", len(cs))
		}
		return nil, &conflictsView{List: h.conflictViews(f.t, cs), Reason: f.Values["cancel_reason"]}, false, nil
	case errors.Is(err, ErrCatalogInvalid):
		f.fail("", "adm_err_catalog")
		return nil, nil, false, nil
	case err != nil:
		return nil, nil, false, err
	}
	return cs, nil, true, nil
}

// auditCancellations records each booking the office cancelled for a
// change.
func (h *Handler) auditCancellations(c *fiber.Ctx, cs []booking.Conflict, reason string) {
	for _, x := range cs {
		h.audit(c, "booking.cancel_by_office", "booking:"+strconv.FormatInt(x.Booking.ID, 10), x.Booking.Code+": "+reason)
	}
}

// adminPage is what every administration template gets as .D: the page's
// own data and the error summary.
type adminPage struct {
	Page   any
	Errors []fieldError
}

// summary hands the error summary to the staff layout.
func (p adminPage) summary() []fieldError { return p.Errors }

func (h *Handler) adminRender(c *fiber.Ctx, status int, tmpl, titleKey string, data any, f *adminForm) error {
	p := adminPage{Page: data}
	if f != nil {
		p.Errors = f.errs
	}
	return h.renderStaff(c, status, tmpl, titleKey, p)
}

// adminField is what the template of one form field gets: the page, the
// form, the field's name and its kind (text, num, time, area, check).
func adminField(v any, f *adminForm, name, kind string) map[string]any {
	return map[string]any{"V": v, "F": f, "Name": name, "Kind": kind}
}

// adminConflicts is what the conflicts template gets.
func adminConflicts(v any, f *adminForm, c *conflictsView) map[string]any {
	return map[string]any{"V": v, "F": f, "C": c}
}
