package web

import (
	"errors"
	"math"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
)

type waitingData struct {
	Number   string
	Location string
	// Ahead and Estimate are the sentences of a waiting ticket; Called
	// and Done replace them once the number was called or dealt with.
	Ahead, Estimate string
	Called, Done    string
	AsOf            string
	Reload          string
}

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
// how many wait before it and about how long. It shows nothing about the
// person (the ticket has no name) and changes nothing.
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
		AsOf: v.texts.f("waiting_as_of", v.texts.clock(h.now().In(tz)))}
	switch t.State {
	case booking.QueueWaiting:
		switch t.Ahead {
		case 0:
			d.Ahead = v.texts.get("waiting_ahead_0")
		case 1:
			d.Ahead = v.texts.get("waiting_ahead_1")
		default:
			d.Ahead = v.texts.f("waiting_ahead_n", t.Ahead)
		}
		if t.Ahead > 0 {
			d.Estimate = v.texts.f("waiting_estimate", int(math.Ceil(t.EstimatedWait.Minutes())))
		}
	case booking.QueueCalled:
		d.Called = v.texts.get("waiting_called_nodesk")
		if t.Desk != nil && *t.Desk != "" {
			d.Called = v.texts.f("waiting_called", *t.Desk)
		}
	default:
		d.Done = v.texts.get("waiting_done")
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	v.D = d
	return h.render(c, fiber.StatusOK, "waiting", v)
}
