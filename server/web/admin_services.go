package web

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
)

// serviceArea is one of the two lists of the administration: the
// services of offices (dienste) and the ticket types of pools (tickets).
type serviceArea struct {
	Path  string // "dienste" or "tickets"
	Kind  string // the kind of location the area lists
	Title string // text key of the list's title
	New   string // text key of the new entry's title
	Edit  string // text key of the edit page's title
}

var (
	areaServices = serviceArea{"dienste", booking.KindOffice, "adm_services_title", "adm_service_new", "adm_service_edit"}
	areaTickets  = serviceArea{"tickets", booking.KindPool, "adm_tickets_title", "adm_ticket_new", "adm_ticket_edit"}
)

func areaOf(c *fiber.Ctx) serviceArea {
	if strings.HasPrefix(c.Path(), adminPrefix+"/tickets") {
		return areaTickets
	}
	return areaServices
}

type servicesGroup struct {
	Location booking.Location
	Services []booking.Service
}

type servicesPage struct {
	Area   serviceArea
	Groups []servicesGroup
	// Removed names the service just removed, Cancelled how many
	// bookings were cancelled with it.
	Removed   string
	Cancelled int
}

type servicePage struct {
	Area      serviceArea
	New       bool
	ID        string
	Location  booking.Location
	Locations []booking.Location
	Form      *adminForm
	Conflicts *conflictsView
	Saved     bool
	// Removing: the conflicts listed are those of removing the service.
	Removing bool
}

func (h *Handler) adminServices(c *fiber.Ctx) error {
	area := areaOf(c)
	locs, services := h.Admin.Catalog()
	p := servicesPage{Area: area, Removed: c.Query("entfernt")}
	p.Cancelled, _ = strconv.Atoi(c.Query("storniert"))
	for _, l := range locs {
		if l.Kind == area.Kind {
			p.Groups = append(p.Groups, servicesGroup{Location: l, Services: servicesAt(services, l.ID)})
		}
	}
	return h.adminRender(c, fiber.StatusOK, "staff_admin_services", area.Title, p, nil)
}

func (h *Handler) areaLocations(area serviceArea) []booking.Location {
	locs, _ := h.Admin.Catalog()
	var out []booking.Location
	for _, l := range locs {
		if l.Kind == area.Kind {
			out = append(out, l)
		}
	}
	return out
}

func (h *Handler) findService(id string) (*booking.Service, bool) {
	_, services := h.Admin.Catalog()
	for i := range services {
		if services[i].ID == id {
			return &services[i], true
		}
	}
	return nil, false
}

func fillService(f *adminForm, s *booking.Service, acc payment.Accounting) {
	v := f.Values
	v["location"], v["name"] = s.LocationID, s.Name
	v["duration_minutes"], v["fee"] = strconv.Itoa(s.DurationMinutes), formatEuro(s.FeeCents)
	v["payment"], v["max_units"], v["queue_prefix"] = s.Payment, strconv.Itoa(s.MaxUnits), s.QueuePrefix
	v["bring_de"], v["bring_en"] = s.WhatToBring.DE, s.WhatToBring.EN
	v["sachkonto"], v["produkt"], v["kostenstelle"], v["haushaltsstelle"] = acc.Sachkonto, acc.Produkt, acc.Kostenstelle, acc.Haushaltsstelle
	v["booking_text"] = acc.BookingText
}

func (h *Handler) adminServiceNew(c *fiber.Ctx) error {
	area := areaOf(c)
	f := newAdminForm(c)
	s := booking.Service{LocationID: c.Query("standort"), DurationMinutes: 15, Payment: booking.PayCounter, MaxUnits: 1}
	if area.Kind == booking.KindPool {
		s.Payment, s.DurationMinutes = booking.PayOnline, 90
	}
	fillService(f, &s, payment.Accounting{})
	p := &servicePage{Area: area, New: true, Locations: h.areaLocations(area), Form: f}
	return h.adminRender(c, fiber.StatusOK, "staff_admin_service", area.New, p, f)
}

func (h *Handler) adminServiceEdit(c *fiber.Ctx) error {
	area := areaOf(c)
	s, ok := h.findService(c.Params("id"))
	if !ok {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "not_found")
	}
	l, ok := h.findLocation(s.LocationID)
	if !ok || l.Kind != area.Kind {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "not_found")
	}
	acc, err := h.Admin.Accounting(c.UserContext(), s.ID)
	if err != nil {
		return err
	}
	f := newAdminForm(c)
	fillService(f, s, acc)
	p := &servicePage{Area: area, ID: s.ID, Location: *l, Form: f, Saved: c.Query("gespeichert") != ""}
	return h.adminRender(c, fiber.StatusOK, "staff_admin_service", area.Edit, p, f)
}

// accountingField checks a field of the account assignment: it travels
// in a ';'-separated export file and in the platform's booking data.
func (f *adminForm) accountingField(field string) string {
	v := f.text(field, 120, false)
	if strings.ContainsAny(v, ";\"") {
		f.fail(field, "adm_err_accounting_chars")
	}
	return v
}

// parseService reads the service form over base (the service as it is,
// so settings the form does not show are kept; zero for a new one).
func parseService(f *adminForm, id string, l *booking.Location, base booking.Service) (booking.Service, payment.Accounting) {
	s := base
	s.ID, s.LocationID = id, l.ID
	s.Name = f.text("name", maxNameLen, true)
	s.DurationMinutes = f.number("duration_minutes", 1, 24*60)
	if s.DurationMinutes > 0 && (s.DurationMinutes < l.SlotMinutes || s.DurationMinutes%l.SlotMinutes != 0) {
		f.fail("duration_minutes", "adm_err_duration_grid", l.SlotMinutes)
	}
	s.FeeCents = f.euro("fee")
	s.Payment = f.c.FormValue("payment")
	f.Values["payment"] = s.Payment
	if s.Payment != booking.PayOnline && s.Payment != booking.PayCounter {
		f.fail("payment", "adm_err_payment")
	}
	s.MaxUnits = f.number("max_units", 1, l.Capacity)
	s.QueuePrefix = strings.ToUpper(f.text("queue_prefix", 1, false))
	f.Values["queue_prefix"] = s.QueuePrefix
	if s.QueuePrefix != "" && (s.QueuePrefix[0] < 'A' || s.QueuePrefix[0] > 'Z' || s.QueuePrefix == booking.CheckInPrefix) {
		f.fail("queue_prefix", "adm_err_prefix", booking.CheckInPrefix)
	}
	s.WhatToBring.DE = f.multiline("bring_de", maxBringLen)
	s.WhatToBring.EN = f.multiline("bring_en", maxBringLen)
	acc := payment.Accounting{Service: id}
	acc.Sachkonto = f.accountingField("sachkonto")
	acc.Produkt = f.accountingField("produkt")
	acc.Kostenstelle = f.accountingField("kostenstelle")
	acc.Haushaltsstelle = f.accountingField("haushaltsstelle")
	acc.BookingText = f.accountingField("booking_text")
	return s, acc
}

func (h *Handler) adminServiceSave(c *fiber.Ctx) error {
	area := areaOf(c)
	f := newAdminForm(c)
	id := c.Params("id")
	p := &servicePage{Area: area, ID: id, New: id == "", Form: f}
	var l *booking.Location
	var base booking.Service
	if id != "" {
		old, ok := h.findService(id)
		if !ok {
			return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "not_found")
		}
		base = *old
		if l, ok = h.findLocation(old.LocationID); !ok || l.Kind != area.Kind {
			return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "not_found")
		}
	} else {
		p.Locations = h.areaLocations(area)
		id = f.text("id", 63, true)
		if id != "" {
			if booking.CheckID(id) != nil {
				f.fail("id", "adm_err_id")
			} else if _, taken := h.findService(id); taken {
				f.fail("id", "adm_err_id_taken")
			}
		}
		loc := c.FormValue("location")
		f.Values["location"] = loc
		var ok bool
		if l, ok = h.findLocation(loc); !ok || l.Kind != area.Kind {
			f.fail("location", "adm_err_location")
			l = nil
		}
	}
	if l == nil {
		// Without a location the rest cannot be checked against it.
		return h.adminRender(c, fiber.StatusUnprocessableEntity, "staff_admin_service", area.New, p, f)
	}
	p.Location = *l
	s, acc := parseService(f, id, l, base)
	if len(f.errs) > 0 {
		return h.adminRender(c, fiber.StatusUnprocessableEntity, "staff_admin_service", pageTitle(p), p, f)
	}
	_, all := h.Admin.Catalog()
	list := servicesAt(all, l.ID)
	replaced := false
	for i := range list {
		if list[i].ID == s.ID {
			list[i], replaced = s, true
		}
	}
	if !replaced {
		list = append(list, s)
	}
	_, conflicts, done, err := h.applyChange(c, f, CatalogChange{Locations: []booking.Location{*l}, Services: list,
		Accounting: []payment.Accounting{acc}})
	if err != nil {
		return err
	}
	if !done {
		p.Conflicts = conflicts
		return h.adminRender(c, fiber.StatusUnprocessableEntity, "staff_admin_service", pageTitle(p), p, f)
	}
	action := "service.update"
	if !replaced {
		action = "service.create"
	}
	h.audit(c, action, "service:"+s.ID, fmt.Sprintf("location=%s duration=%d fee_cents=%d payment=%s", l.ID, s.DurationMinutes, s.FeeCents, s.Payment))
	return c.Redirect(adminPrefix+"/"+area.Path+"/"+s.ID+"?gespeichert=1", fiber.StatusSeeOther)
}

func pageTitle(p *servicePage) string {
	if p.New {
		return p.Area.New
	}
	return p.Area.Edit
}

// adminServiceRemove removes a service (its bookings keep pointing at
// it); its live bookings from now on are conflicts of the removal.
func (h *Handler) adminServiceRemove(c *fiber.Ctx) error {
	area := areaOf(c)
	s, ok := h.findService(c.Params("id"))
	if !ok {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "not_found")
	}
	l, ok := h.findLocation(s.LocationID)
	if !ok || l.Kind != area.Kind {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "not_found")
	}
	f := newAdminForm(c)
	cancel, reason := f.cancelChoice()
	acc, err := h.Admin.Accounting(c.UserContext(), s.ID)
	if err != nil {
		return err
	}
	p := &servicePage{Area: area, ID: s.ID, Location: *l, Form: f, Removing: true}
	if f.ready() {
		_, all := h.Admin.Catalog()
		var rest []booking.Service
		for _, x := range servicesAt(all, l.ID) {
			if x.ID != s.ID {
				rest = append(rest, x)
			}
		}
		cancelled, conflicts, done, err := h.applyChange(c, f, CatalogChange{Locations: []booking.Location{*l}, Services: rest, Cancel: cancel, Reason: reason})
		if err != nil {
			return err
		}
		if done {
			h.auditCancellations(c, cancelled, reason)
			h.audit(c, "service.remove", "service:"+s.ID, fmt.Sprintf("location=%s cancelled=%d", l.ID, len(cancelled)))
			return c.Redirect(fmt.Sprintf("%s/%s?entfernt=%s&storniert=%d", adminPrefix, area.Path, s.ID, len(cancelled)), fiber.StatusSeeOther)
		}
		p.Conflicts = conflicts
	}
	reason = f.Values["cancel_reason"]
	fillService(f, s, acc)
	f.Values["cancel_reason"] = reason
	return h.adminRender(c, fiber.StatusUnprocessableEntity, "staff_admin_service", area.Edit, p, f)
}
