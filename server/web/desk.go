package web

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/account"
	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// DeskQueue is what a desk does with its office's line (booking.Queue).
type DeskQueue interface {
	Today(ctx context.Context, locationID string) ([]booking.QueueTicket, error)
	CallNext(ctx context.Context, locationID, desk string) (*booking.QueueTicket, error)
	Recall(ctx context.Context, locationID string, id int64, desk string) (*booking.QueueTicket, error)
	Transfer(ctx context.Context, locationID string, id int64, serviceID string) (*booking.QueueTicket, error)
	Finish(ctx context.Context, locationID string, id int64, state string) (*booking.QueueTicket, error)
}

const deskPath = "/intern/schalter"

var _ = addStaffNav(navEntry{Href: deskPath, TitleKey: "desk_nav", TextKey: "desk_nav_text",
	Roles: []auth.Role{auth.RoleDesk, auth.RoleAdmin}, Order: 10})

// deskRoutes mounts the desk view: GET shows the line, every action is a
// POST that answers with a redirect back (POST-redirect-GET), so a reload
// never repeats a call.
func (h *Handler) deskRoutes(app fiber.Router) {
	if h.Desk == nil {
		return
	}
	desk := h.staffPage(auth.RoleDesk, auth.RoleAdmin)
	app.Get(deskPath, desk, h.deskPage)
	app.Post(deskPath+"/platz", desk, h.deskChoose)
	app.Post(deskPath+"/aufrufen", desk, h.deskCall)
	app.Post(deskPath+"/wiederholen", desk, h.deskRecall)
	app.Post(deskPath+"/erledigt", desk, h.deskFinish(booking.QueueServed))
	app.Post(deskPath+"/nicht-erschienen", desk, h.deskFinish(booking.QueueNoShow))
	app.Post(deskPath+"/weiterleiten", desk, h.deskTransfer)
}

// deskLocation picks the office a request works on: a desk account's own
// location, else the one asked for (standort). A location-bound account
// asking for another is refused; nil without an error means the member
// of staff has yet to pick one.
func (h *Handler) deskLocation(c *fiber.Ctx, asked string) (*booking.Location, *time.Location, error) {
	s := auth.StaffOf(c)
	if asked == "" {
		asked = s.LocationID
	}
	if asked == "" {
		return nil, nil, nil
	}
	if !s.AtLocation(asked) {
		return nil, nil, errDeskForbidden
	}
	l, tz, err := h.Catalog.Location(asked)
	if err != nil || l.Kind != booking.KindOffice {
		return nil, nil, errDeskNoOffice
	}
	return l, tz, nil
}

var (
	errDeskForbidden = errors.New("web: desk of another location")
	errDeskNoOffice  = errors.New("web: no office of that id")
)

func (h *Handler) deskRefusal(c *fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, errDeskForbidden):
		return h.staffMessage(c, fiber.StatusForbidden, "staff_forbidden_title", "desk_other_location")
	case errors.Is(err, errDeskNoOffice):
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "desk_no_office")
	}
	return err
}

// deskRow is one ticket in the desk's lists.
type deskRow struct {
	ID      int64
	Number  string
	Service string
	// ServiceID is the ticket's service, left out of its transfer choice.
	ServiceID string
	Since     string
	Minutes   int
	Desk      string
	Kind      string
	Note      string
}

// selectOption is one option of a select: an office to work at, a service to
// transfer to.
type selectOption struct {
	ID, Name string
}

type deskData struct {
	formProblems
	Offices  []selectOption
	Location string
	Name     string
	Desk     string
	// Mine are the tickets called to this desk (usually one).
	Mine     []deskRow
	Waiting  []deskRow
	Others   []deskRow
	Services []selectOption
	Notice   string
	Events   string
	// DeskValue is what the desk field shows after a refused entry.
	DeskValue string
	// ChangeDesk shows the desk form although a desk is chosen.
	ChangeDesk bool
}

// deskQuery is the page's address for a location.
func deskQuery(location string, extra ...string) string {
	q := url.Values{}
	if location != "" {
		q.Set("standort", location)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	if len(q) == 0 {
		return deskPath
	}
	return deskPath + "?" + q.Encode()
}

// deskPage shows today's line of the office: who is called to this desk
// with its actions, who waits (number, service, since when) and who is
// called to other desks.
func (h *Handler) deskPage(c *fiber.Ctx) error {
	l, tz, err := h.deskLocation(c, c.Query("standort"))
	if err != nil {
		return h.deskRefusal(c, err)
	}
	s := auth.StaffOf(c)
	t := textsFor(lang(c))
	d := &deskData{Desk: s.Desk, DeskValue: s.Desk}
	if l == nil {
		for _, loc := range h.Catalog.Locations() {
			if loc.Kind == booking.KindOffice {
				d.Offices = append(d.Offices, selectOption{loc.ID, loc.Name})
			}
		}
		return h.renderStaff(c, fiber.StatusOK, "staff_desk", "desk_title", d)
	}
	d.Location, d.Name = l.ID, l.Name
	if err := h.fillDesk(c.UserContext(), d, t, l, tz); err != nil {
		return err
	}
	d.Notice = deskNotice(t, c.Query("ok"), c.Query("nr"), c.Query("fehler"), s.Desk)
	d.ChangeDesk = c.Query("platz") == "wechseln"
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.renderStaff(c, fiber.StatusOK, "staff_desk", "desk_title", d)
}

func (h *Handler) fillDesk(ctx context.Context, d *deskData, t texts, l *booking.Location, tz *time.Location) error {
	ts, err := h.Desk.Today(ctx, l.ID)
	if err != nil {
		return err
	}
	names := map[string]string{}
	if svcs, err := h.Catalog.Services(l.ID); err == nil {
		for _, sv := range svcs {
			names[sv.ID] = sv.Name
			d.Services = append(d.Services, selectOption{sv.ID, sv.Name})
		}
	}
	// Arrival times come from PostgreSQL's clock, so the wait is measured
	// against the wall clock, not the booking clock (which tests move).
	now := time.Now()
	for _, tk := range ts {
		r := deskRow{ID: tk.ID, Number: tk.Number, Since: t.clock(tk.CreatedAt.In(tz)),
			Minutes: int(now.Sub(tk.CreatedAt) / time.Minute), Kind: t.get("desk_walk_in")}
		if r.Minutes < 0 {
			r.Minutes = 0
		}
		if tk.BookingID != nil {
			r.Kind = t.get("desk_appointment")
		}
		if tk.ServiceID != nil {
			r.ServiceID, r.Service = *tk.ServiceID, names[*tk.ServiceID]
			if r.Service == "" {
				r.Service = *tk.ServiceID
			}
		}
		if tk.TransferredFrom != nil {
			from := names[*tk.TransferredFrom]
			if from == "" {
				from = *tk.TransferredFrom
			}
			r.Note = t.f("desk_transferred_from", from)
		}
		if tk.Recalls > 0 {
			r.Note = t.f("desk_recalled", tk.Recalls)
		}
		switch tk.State {
		case booking.QueueWaiting:
			d.Waiting = append(d.Waiting, r)
		case booking.QueueCalled:
			if tk.Desk != nil {
				r.Desk = *tk.Desk
			}
			if at := tk.LastCalledAt; at != nil {
				r.Since = t.clock(at.In(tz))
			}
			if d.Desk != "" && r.Desk == d.Desk {
				d.Mine = append(d.Mine, r)
			} else {
				d.Others = append(d.Others, r)
			}
		}
	}
	if h.Live != nil {
		d.Events = "/display/" + l.ID + "/events"
	}
	return nil
}

// deskNotice is the line the page shows after an action.
func deskNotice(t texts, ok, number, problem, desk string) string {
	if !validQueueNumber(number) {
		number = ""
	}
	switch ok {
	case "aufgerufen":
		return t.f("desk_done_called", number, desk)
	case "wiederholt":
		return t.f("desk_done_recalled", number)
	case "erledigt":
		return t.f("desk_done_served", number)
	case "nicht-erschienen":
		return t.f("desk_done_no_show", number)
	case "weitergeleitet":
		return t.f("desk_done_transferred", number)
	case "platz":
		return t.f("desk_done_desk", desk)
	}
	switch problem {
	case "leer":
		return t.get("desk_queue_empty")
	case "zustand":
		return t.get("desk_ticket_state")
	case "dienst":
		return t.get("desk_service_unknown")
	}
	return ""
}

// deskBack answers an action with the page again (POST-redirect-GET).
func deskBack(c *fiber.Ctx, location string, extra ...string) error {
	return c.Redirect(deskQuery(location, extra...), fiber.StatusSeeOther)
}

// deskChoose remembers the desk number for this login session.
func (h *Handler) deskChoose(c *fiber.Ctx) error {
	l, tz, err := h.deskLocation(c, c.FormValue("standort"))
	if err != nil {
		return h.deskRefusal(c, err)
	}
	loc := ""
	if l != nil {
		loc = l.ID
	}
	// A copy: the framework reuses the request's bytes, and the session
	// keeps the desk.
	desk := strings.Clone(c.FormValue("schalter"))
	if err := h.setDesk(c, desk); err != nil {
		if !errors.Is(err, account.ErrDeskInvalid) {
			return err
		}
		t := textsFor(lang(c))
		d := &deskData{DeskValue: desk}
		d.add("schalter", t.get("desk_err_desk"))
		if l != nil {
			d.Location, d.Name = l.ID, l.Name
			if err := h.fillDesk(c.UserContext(), d, t, l, tz); err != nil {
				return err
			}
		}
		return h.renderStaff(c, fiber.StatusUnprocessableEntity, "staff_desk", "desk_title", d)
	}
	h.audit(c, "desk.choose", "desk:"+auth.StaffOf(c).Desk, loc)
	return deskBack(c, loc, "ok", "platz")
}

// deskAction is the start of every ticket action: the office and the
// desk (an action before a desk was chosen goes back to choose one).
func (h *Handler) deskAction(c *fiber.Ctx) (loc string, desk string, done bool, err error) {
	l, _, err := h.deskLocation(c, c.FormValue("standort"))
	if err != nil {
		return "", "", true, h.deskRefusal(c, err)
	}
	if l == nil {
		return "", "", true, deskBack(c, "")
	}
	desk = auth.StaffOf(c).Desk
	if desk == "" {
		return "", "", true, deskBack(c, l.ID)
	}
	return l.ID, desk, false, nil
}

func formTicket(c *fiber.Ctx) int64 {
	id, err := strconv.ParseInt(c.FormValue("ticket"), 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// deskOutcome turns a queue refusal into the page's notice, and passes
// on what is not a refusal.
func deskOutcome(c *fiber.Ctx, loc string, err error) error {
	switch {
	case errors.Is(err, booking.ErrQueueEmpty):
		return deskBack(c, loc, "fehler", "leer")
	case errors.Is(err, booking.ErrTicketState), errors.Is(err, booking.ErrTicketNotFound):
		return deskBack(c, loc, "fehler", "zustand")
	case errors.Is(err, booking.ErrServiceUnknown):
		return deskBack(c, loc, "fehler", "dienst")
	}
	return err
}

func (h *Handler) deskCall(c *fiber.Ctx) error {
	loc, desk, done, err := h.deskAction(c)
	if done {
		return err
	}
	tk, err := h.Desk.CallNext(c.UserContext(), loc, desk)
	if err != nil {
		return deskOutcome(c, loc, err)
	}
	h.audit(c, "desk.call", "ticket:"+tk.Number, "desk "+desk)
	return deskBack(c, loc, "ok", "aufgerufen", "nr", tk.Number)
}

func (h *Handler) deskRecall(c *fiber.Ctx) error {
	loc, desk, done, err := h.deskAction(c)
	if done {
		return err
	}
	tk, err := h.Desk.Recall(c.UserContext(), loc, formTicket(c), desk)
	if err != nil {
		return deskOutcome(c, loc, err)
	}
	h.audit(c, "desk.recall", "ticket:"+tk.Number, "desk "+desk)
	return deskBack(c, loc, "ok", "wiederholt", "nr", tk.Number)
}

func (h *Handler) deskFinish(state string) fiber.Handler {
	ok, action := "erledigt", "desk.served"
	if state == booking.QueueNoShow {
		ok, action = "nicht-erschienen", "desk.no_show"
	}
	return func(c *fiber.Ctx) error {
		loc, desk, done, err := h.deskAction(c)
		if done {
			return err
		}
		tk, err := h.Desk.Finish(c.UserContext(), loc, formTicket(c), state)
		if err != nil {
			return deskOutcome(c, loc, err)
		}
		h.audit(c, action, "ticket:"+tk.Number, "desk "+desk)
		return deskBack(c, loc, "ok", ok, "nr", tk.Number)
	}
}

func (h *Handler) deskTransfer(c *fiber.Ctx) error {
	loc, desk, done, err := h.deskAction(c)
	if done {
		return err
	}
	svc := c.FormValue("dienst")
	tk, err := h.Desk.Transfer(c.UserContext(), loc, formTicket(c), svc)
	if err != nil {
		return deskOutcome(c, loc, err)
	}
	h.audit(c, "desk.transfer", "ticket:"+tk.Number, "to service "+svc+" from desk "+desk)
	return deskBack(c, loc, "ok", "weitergeleitet", "nr", tk.Number)
}
