package device

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

// newTicketJSON maps a queue ticket, with the names of its location and
// service for the print.
func (h *Handler) newTicketJSON(t *booking.QueueTicket) ticketJSON {
	out := ticketJSON{ID: t.ID, Number: t.Number, Location: t.LocationID, Ahead: t.Ahead,
		EstimatedWaitMinutes: int(math.Ceil(t.EstimatedWait.Minutes())), CreatedAt: t.CreatedAt}
	if l, _, err := h.Catalog.Location(t.LocationID); err == nil {
		out.LocationName = l.Name
	}
	if t.ServiceID != nil {
		out.Service = *t.ServiceID
		if s, err := h.Catalog.Service(t.LocationID, *t.ServiceID); err == nil {
			out.ServiceName = s.Name
		}
	}
	return out
}

func (h *Handler) walkIn(c *fiber.Ctx) error {
	var req walkInRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	t, err := h.Queue.WalkIn(c.UserContext(), auth.DeviceOf(c).LocationID, req.Service)
	var closed *booking.ClosedError
	if errors.As(err, &closed) {
		return closedAnswer(closed, h.Now())
	}
	if err != nil {
		return err
	}
	return response.Created(c, h.newTicketJSON(t))
}

var (
	weekdaysEN = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	weekdaysDE = [...]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}
)

// closedAnswer tells a visitor at the kiosk that the location is closed
// and when it opens, in its own time zone.
func closedAnswer(e *booking.ClosedError, now time.Time) *response.Error {
	name := e.Location.Name
	if e.Opens.IsZero() {
		return response.New(409, "location_closed", name+" is closed.", name+" ist geschlossen.")
	}
	opens := e.Opens.In(e.Zone)
	clock := opens.Format("15:04")
	if booking.DateOf(opens) == booking.DateOf(now.In(e.Zone)) {
		return response.New(409, "location_closed",
			fmt.Sprintf("%s is closed now. It opens today at %s.", name, clock),
			fmt.Sprintf("%s ist jetzt geschlossen. Heute ab %s Uhr geöffnet.", name, clock))
	}
	return response.New(409, "location_closed",
		fmt.Sprintf("%s is closed now. It opens on %s, %s at %s.", name, weekdaysEN[opens.Weekday()], opens.Format("2 January"), clock),
		fmt.Sprintf("%s ist jetzt geschlossen. Geöffnet ab %s, %s, %s Uhr.", name, weekdaysDE[opens.Weekday()], opens.Format("02.01."), clock))
}

func (h *Handler) checkIn(c *fiber.Ctx) error {
	var req checkInRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	code := req.Code
	if req.QR != "" {
		claims, err := h.ticketKeys().Verify(req.QR, h.Now())
		if err != nil {
			return err
		}
		code = claims.Code
	}
	if code == "" {
		return response.Invalid("qr", "or code is required", "oder code ist erforderlich")
	}
	ctx := c.UserContext()
	t, err := h.Queue.CheckIn(ctx, auth.DeviceOf(c).LocationID, code)
	if err != nil {
		return err
	}
	out := h.newTicketJSON(t)
	if t.BookingID != nil {
		// The ticket prints without the time when it cannot be read.
		if start, err := h.Queue.AppointmentStart(ctx, *t.BookingID); err == nil {
			s := start.UTC().Format(time.RFC3339)
			out.Appointment = &s
		}
	}
	return response.Created(c, out)
}
