package web

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
)

// adminWeekdays are the weekdays of the opening-hours form, Monday first.
var adminWeekdays = []struct {
	Key string
	Day time.Weekday
}{{"mon", time.Monday}, {"tue", time.Tuesday}, {"wed", time.Wednesday}, {"thu", time.Thursday},
	{"fri", time.Friday}, {"sat", time.Saturday}, {"sun", time.Sunday}}

// periodsPerDay is how many opening periods the form offers per weekday.
const periodsPerDay = 2

// Field lengths of the location and service forms.
const (
	maxNameLen     = 200
	maxAddressLen  = 200
	maxReasonLen   = 200
	maxClosuresLen = 20000
	maxBringLen    = 1000
)

type weekdayRow struct {
	Key, Name string
	Periods   []periodFields
}

type periodFields struct {
	N                 int
	OpensF, ClosesF   string // field names
	OpensID, ClosesID string
}

type locationPage struct {
	New       bool
	ID        string
	Kind      string
	Form      *adminForm
	Days      []weekdayRow
	Conflicts *conflictsView
	Saved     bool
	Cancelled int
	Services  []booking.Service
	Holidays  []string
}

type locationRow struct {
	booking.Location
	Services int
	Opening  string
}

func (h *Handler) adminLocations(c *fiber.Ctx) error {
	locs, services := h.Admin.Catalog()
	t := textsFor(lang(c))
	rows := make([]locationRow, 0, len(locs))
	for _, l := range locs {
		n := 0
		for _, s := range services {
			if s.LocationID == l.ID {
				n++
			}
		}
		rows = append(rows, locationRow{Location: l, Services: n, Opening: openingSummary(t, &l)})
	}
	return h.adminRender(c, fiber.StatusOK, "staff_admin_locations", "adm_locations_title", rows, nil)
}

// openingSummary writes a location's weekly hours on one line.
func openingSummary(t texts, l *booking.Location) string {
	var parts []string
	for _, wd := range adminWeekdays {
		var ps []string
		for _, r := range sortedRules(l, wd.Day) {
			ps = append(ps, r.Opens.String()+"–"+r.Closes.String())
		}
		if len(ps) > 0 {
			parts = append(parts, t.get("adm_wd_short_"+wd.Key)+" "+strings.Join(ps, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

func sortedRules(l *booking.Location, d time.Weekday) []booking.OpeningRule {
	var out []booking.OpeningRule
	for _, r := range l.Opening {
		if r.Weekday == d {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Opens < out[j].Opens })
	return out
}

func (h *Handler) locationPageFor(c *fiber.Ctx, f *adminForm, id string) *locationPage {
	p := &locationPage{New: id == "", ID: id, Form: f}
	for _, wd := range adminWeekdays {
		row := weekdayRow{Key: wd.Key, Name: f.t.get("adm_wd_" + wd.Key)}
		for i := 1; i <= periodsPerDay; i++ {
			o, cl := fmt.Sprintf("open_%s_%d", wd.Key, i), fmt.Sprintf("close_%s_%d", wd.Key, i)
			row.Periods = append(row.Periods, periodFields{N: i, OpensF: o, ClosesF: cl, OpensID: o, ClosesID: cl})
		}
		p.Days = append(p.Days, row)
	}
	// The public holidays of the coming year, next to the checkbox that
	// closes the location on them.
	tz := h.zone()
	today := booking.DateOf(h.now().In(tz))
	for d := today; len(p.Holidays) < 12 && d.Before(today.AddDays(366)); d = d.AddDays(1) {
		if hd, ok := booking.HolidayRLP(d); ok {
			p.Holidays = append(p.Holidays, f.t.date(d.Midnight(tz))+": "+hd.Name)
		}
	}
	if id != "" {
		_, services := h.Admin.Catalog()
		for _, s := range services {
			if s.LocationID == id {
				p.Services = append(p.Services, s)
			}
		}
	}
	return p
}

// fillLocation puts a location into the form's values.
func fillLocation(f *adminForm, l *booking.Location) {
	v := f.Values
	v["name"], v["street"], v["postal_code"], v["city"] = l.Name, l.Address.Street, l.Address.PostalCode, l.Address.City
	v["timezone"], v["kind"] = l.Timezone, l.Kind
	v["capacity"], v["slot_minutes"] = strconv.Itoa(l.Capacity), strconv.Itoa(l.SlotMinutes)
	v["booking_horizon_days"], v["lead_minutes"] = strconv.Itoa(l.BookingHorizonDays), strconv.Itoa(l.LeadMinutes)
	v["activation_minutes"] = strconv.Itoa(l.ActivationMinutes)
	if l.ClosedOnHolidays {
		v["closed_on_holidays"] = "1"
	}
	for _, wd := range adminWeekdays {
		for i, r := range sortedRules(l, wd.Day) {
			if i >= periodsPerDay {
				break
			}
			v[fmt.Sprintf("open_%s_%d", wd.Key, i+1)] = r.Opens.String()
			v[fmt.Sprintf("close_%s_%d", wd.Key, i+1)] = r.Closes.String()
		}
	}
	var lines []string
	for _, cl := range l.Closures {
		lines = append(lines, strings.TrimSpace(cl.Day.String()+" "+cl.Reason))
	}
	v["closures"] = strings.Join(lines, "\n")
}

func (h *Handler) findLocation(id string) (*booking.Location, bool) {
	locs, _ := h.Admin.Catalog()
	for i := range locs {
		if locs[i].ID == id {
			return &locs[i], true
		}
	}
	return nil, false
}

func (h *Handler) adminLocationNew(c *fiber.Ctx) error {
	f := newAdminForm(c)
	fillLocation(f, &booking.Location{Kind: booking.KindOffice, Timezone: "Europe/Berlin", Capacity: 1, SlotMinutes: 5,
		BookingHorizonDays: 60, ClosedOnHolidays: true})
	return h.adminRender(c, fiber.StatusOK, "staff_admin_location", "adm_location_new", h.locationPageFor(c, f, ""), f)
}

func (h *Handler) adminLocationEdit(c *fiber.Ctx) error {
	l, ok := h.findLocation(c.Params("id"))
	if !ok {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "not_found")
	}
	f := newAdminForm(c)
	fillLocation(f, l)
	p := h.locationPageFor(c, f, l.ID)
	p.Kind = l.Kind
	p.Saved = c.Query("gespeichert") != ""
	p.Cancelled, _ = strconv.Atoi(c.Query("storniert"))
	// Bookings made on a replica that had not yet reloaded a change can
	// lie outside the rules in force: they are listed here, to cancel.
	_, all := h.Admin.Catalog()
	cs, err := h.Admin.Conflicts(c.UserContext(), l, servicesAt(all, l.ID))
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		p.Conflicts = &conflictsView{List: h.conflictViews(f.t, cs), Now: true}
	}
	return h.adminRender(c, fiber.StatusOK, "staff_admin_location", "adm_location_edit", p, f)
}

// parseLocation reads the location form; old is the location edited (nil
// for a new one).
func parseLocation(f *adminForm, old *booking.Location, taken func(string) bool) booking.Location {
	var l booking.Location
	if old == nil {
		l.ID = f.text("id", 63, true)
		if l.ID != "" {
			switch err := booking.CheckLocationID(l.ID); {
			case err == booking.ErrIDReserved:
				f.fail("id", "adm_err_id_reserved")
			case err != nil:
				f.fail("id", "adm_err_id")
			case taken(l.ID):
				f.fail("id", "adm_err_id_taken")
			}
		}
		l.CancelBlockMinutes = booking.DefaultCancelBlockMinutes
		l.Kind = f.c.FormValue("kind")
		f.Values["kind"] = l.Kind
		if l.Kind != booking.KindOffice && l.Kind != booking.KindPool {
			f.fail("kind", "adm_err_kind")
		}
	} else {
		// Start from the location as it is, so settings this form does
		// not show (a release schedule, say) are kept.
		l = *old
		l.Opening, l.Closures = nil, nil
	}
	l.Name = f.text("name", maxNameLen, true)
	l.Address.Street = f.text("street", maxAddressLen, false)
	l.Address.PostalCode = f.text("postal_code", 10, false)
	l.Address.City = f.text("city", maxAddressLen, false)
	l.Timezone = f.text("timezone", 64, true)
	if _, err := time.LoadLocation(l.Timezone); l.Timezone != "" && err != nil {
		f.fail("timezone", "adm_err_timezone")
	}
	l.Capacity = f.number("capacity", 1, 10000)
	l.SlotMinutes = f.number("slot_minutes", 1, 240)
	l.BookingHorizonDays = f.number("booking_horizon_days", 1, booking.MaxHorizonDays)
	l.LeadMinutes = f.number("lead_minutes", 0, 30*24*60)
	l.ActivationMinutes = f.number("activation_minutes", 0, 7*24*60)
	l.ClosedOnHolidays = f.c.FormValue("closed_on_holidays") == "1"
	if l.ClosedOnHolidays {
		f.Values["closed_on_holidays"] = "1"
	}
	phase := -1
	for _, wd := range adminWeekdays {
		var day []booking.OpeningRule
		for i := 1; i <= periodsPerDay; i++ {
			of, cf := fmt.Sprintf("open_%s_%d", wd.Key, i), fmt.Sprintf("close_%s_%d", wd.Key, i)
			ov, cv := f.text(of, 5, false), f.text(cf, 5, false)
			if ov == "" && cv == "" {
				continue
			}
			opens, oerr := booking.ParseClockTime(ov)
			closes, cerr := booking.ParseClockTime(cv)
			switch {
			case ov == "" || oerr != nil:
				f.fail(of, "adm_err_clock")
				continue
			case cv == "" || cerr != nil:
				f.fail(cf, "adm_err_clock")
				continue
			case closes <= opens:
				f.fail(cf, "adm_err_closes_before")
				continue
			}
			if l.SlotMinutes > 0 {
				if phase < 0 {
					phase = int(opens) % l.SlotMinutes
				}
				if int(opens)%l.SlotMinutes != phase {
					f.fail(of, "adm_err_grid", l.SlotMinutes)
					continue
				}
			}
			for _, r := range day {
				if opens < r.Closes && r.Opens < closes {
					f.fail(of, "adm_err_overlap")
				}
			}
			day = append(day, booking.OpeningRule{Weekday: wd.Day, Opens: opens, Closes: closes})
		}
		l.Opening = append(l.Opening, day...)
	}
	closures := f.multiline("closures", maxClosuresLen)
	seen := map[booking.Date]bool{}
	for n, line := range strings.Split(closures, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		day, reason, _ := strings.Cut(line, " ")
		d, err := parseDay(day)
		if err != nil {
			f.fail("closures", "adm_err_closure", n+1)
			break
		}
		if seen[d] {
			f.fail("closures", "adm_err_closure_twice", d.String())
			break
		}
		seen[d] = true
		l.Closures = append(l.Closures, booking.Closure{Day: d, Reason: strings.TrimSpace(reason)})
	}
	sort.Slice(l.Closures, func(i, j int) bool { return l.Closures[i].Day.Before(l.Closures[j].Day) })
	return l
}

// parseDay reads a day as 2026-12-24 or 24.12.2026.
func parseDay(s string) (booking.Date, error) {
	if d, m, y, ok := cut3(s, "."); ok {
		s = fmt.Sprintf("%s-%02s-%02s", y, m, d)
		s = strings.ReplaceAll(s, " ", "0")
	}
	return booking.ParseDate(s)
}

func cut3(s, sep string) (a, b, c string, ok bool) {
	parts := strings.Split(s, sep)
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

func (h *Handler) adminLocationSave(c *fiber.Ctx) error {
	id := c.Params("id")
	var old *booking.Location
	if id != "" {
		l, ok := h.findLocation(id)
		if !ok {
			return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "not_found")
		}
		old = l
	}
	f := newAdminForm(c)
	l := parseLocation(f, old, func(id string) bool { _, ok := h.findLocation(id); return ok })
	var services []booking.Service
	if old != nil {
		_, all := h.Admin.Catalog()
		services = servicesAt(all, old.ID)
		// The services must still fit; checked once both numbers are valid.
		_, badCap := f.Err["capacity"]
		_, badSlot := f.Err["slot_minutes"]
		for _, s := range services {
			switch {
			case !badSlot && s.DurationMinutes%l.SlotMinutes != 0:
				f.fail("slot_minutes", "adm_err_services_fit", s.Name)
			case !badCap && s.MaxUnits > l.Capacity:
				f.fail("capacity", "adm_err_services_fit", s.Name)
			}
		}
	}
	cancel, reason := f.cancelChoice()
	p := h.locationPageFor(c, f, id)
	p.Kind = l.Kind
	if f.ready() {
		cancelled, conflicts, done, err := h.applyChange(c, f, CatalogChange{Locations: []booking.Location{l}, Services: services, Cancel: cancel, Reason: reason})
		if err != nil {
			return err
		}
		if done {
			action := "location.update"
			if old == nil {
				action = "location.create"
			}
			h.auditCancellations(c, cancelled, reason)
			h.audit(c, action, "location:"+l.ID, locationChange(old, &l))
			return c.Redirect(fmt.Sprintf("%s/standorte/%s?gespeichert=1&storniert=%d", adminPrefix, l.ID, len(cancelled)), fiber.StatusSeeOther)
		}
		p.Conflicts = conflicts
	}
	return h.adminRender(c, fiber.StatusUnprocessableEntity, "staff_admin_location", titleOfLocationPage(p), p, f)
}

func titleOfLocationPage(p *locationPage) string {
	if p.New {
		return "adm_location_new"
	}
	return "adm_location_edit"
}

// locationChange says what changed, for the audit log (no citizen data).
func locationChange(old, l *booking.Location) string {
	if old == nil {
		return "created " + l.Kind + " capacity=" + strconv.Itoa(l.Capacity)
	}
	var ch []string
	if old.Name != l.Name {
		ch = append(ch, "name")
	}
	if old.Capacity != l.Capacity {
		ch = append(ch, fmt.Sprintf("capacity %d->%d", old.Capacity, l.Capacity))
	}
	if old.SlotMinutes != l.SlotMinutes {
		ch = append(ch, fmt.Sprintf("slot %d->%d", old.SlotMinutes, l.SlotMinutes))
	}
	if fmt.Sprint(old.Opening) != fmt.Sprint(l.Opening) {
		ch = append(ch, "opening")
	}
	if fmt.Sprint(old.Closures) != fmt.Sprint(l.Closures) {
		ch = append(ch, fmt.Sprintf("closures %d->%d", len(old.Closures), len(l.Closures)))
	}
	if old.BookingHorizonDays != l.BookingHorizonDays || old.LeadMinutes != l.LeadMinutes || old.ActivationMinutes != l.ActivationMinutes {
		ch = append(ch, "window")
	}
	if old.ClosedOnHolidays != l.ClosedOnHolidays {
		ch = append(ch, "holidays")
	}
	if old.Address != l.Address || old.Timezone != l.Timezone {
		ch = append(ch, "address")
	}
	if len(ch) == 0 {
		return "no change"
	}
	return strings.Join(ch, ", ")
}

func servicesAt(all []booking.Service, locationID string) []booking.Service {
	var out []booking.Service
	for _, s := range all {
		if s.LocationID == locationID {
			out = append(out, s)
		}
	}
	return out
}
