package web

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
)

type waitingData struct {
	Number   string
	Location string
	// State holds the sentences: people ahead and the estimate while the
	// ticket waits, the desk once it is called, "dealt with" after.
	State  ticketState
	Reload string
	// Events is the ticket's event stream; empty without live updates.
	Events string
}

// waitingRefresh is the reload interval of the ticket page without
// JavaScript.
const waitingRefresh = 30

// validQueueNumber reports whether s looks like a printed queue number
// ("A017", "T004").
func validQueueNumber(s string) bool {
	if len(s) < 2 || len(s) > 8 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// waiting is the page the QR on a printed queue ticket opens: the number,
// how many wait before it and about how long, or the desk once called,
// updated live by its event stream (without JavaScript by a reload every
// half minute). It shows nothing about the person (the ticket has no
// name) and changes nothing.
func (h *Handler) waiting(c *fiber.Ctx) error {
	number := strings.ToUpper(c.Params("number"))
	loc, tz, err := h.Catalog.Location(c.Params("location"))
	if err != nil || !validQueueNumber(number) {
		return h.notFound(c)
	}
	v := h.newView(c, "waiting_title", stepNone)
	t, err := h.Queue.Position(c.UserContext(), loc.ID, number)
	if errors.Is(err, booking.ErrTicketNotFound) {
		return h.message(c, fiber.StatusNotFound, "waiting_title", v.texts.get("waiting_unknown"))
	}
	if err != nil {
		return err
	}
	d := waitingData{Number: t.Number, Location: loc.Name, Reload: "/warten/" + loc.ID + "/" + t.Number,
		State: h.ticketStateOf(v.texts, tz, t)}
	if h.Live != nil {
		d.Events = d.Reload + "/events"
		v.Scripts = append(v.Scripts, "ticket.js")
	}
	if t.State == booking.QueueWaiting || t.State == booking.QueueCalled {
		v.RefreshAfter = waitingRefresh
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	v.D = d
	return h.render(c, fiber.StatusOK, "waiting", v)
}
