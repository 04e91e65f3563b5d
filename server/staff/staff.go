// Package staff serves the people who run the offices: the desk's queue
// (call the next number, finish a ticket), the waiting room's call display,
// and the administrator's device registry and ticket preview.
package staff

import (
	"context"
	"io"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/response"
)

// Catalog is the city's locations.
type Catalog interface {
	Location(id string) (*booking.Location, *time.Location, error)
}

// Queue is the waiting line of an office.
type Queue interface {
	Today(ctx context.Context, locationID string) ([]booking.QueueTicket, error)
	CallNext(ctx context.Context, locationID, desk string) (*booking.QueueTicket, error)
	Finish(ctx context.Context, locationID string, id int64, state string) (*booking.QueueTicket, error)
	Recall(ctx context.Context, locationID string, id int64, desk string) (*booking.QueueTicket, error)
	Transfer(ctx context.Context, locationID string, id int64, serviceID string) (*booking.QueueTicket, error)
}

// Devices is the registry of kiosks and scanners.
type Devices interface {
	RegisterDevice(ctx context.Context, locationID, name, mode string, validFor time.Duration) (*booking.Device, string, error)
	Devices(ctx context.Context) ([]booking.Device, error)
}

// Entrances reports the admissions staff must look at: tickets of
// cancelled, unpaid or unknown bookings an offline gate let in.
type Entrances interface {
	FlaggedToday(ctx context.Context, locationID string) ([]booking.Redemption, error)
}

// CityFiles writes the catalogue as a city file (the format of
// server/democity.json).
type CityFiles interface {
	WriteCity(w io.Writer) error
}

// Handler serves the staff and administrator routes.
type Handler struct {
	Catalog   Catalog
	Queue     Queue
	Devices   Devices
	Entrances Entrances
	// City is nil when the catalogue cannot be exported (404).
	City CityFiles
	// Staff authenticates members of staff.
	Staff auth.StaffAuthenticator
	// Accounts creates staff accounts (nil: no accounts route); Audit
	// records it.
	Accounts Accounts
	Audit    AuditLog
	// Now is the clock of the ticket preview.
	Now func() time.Time
}

// atLocation refuses a member of staff bound to one location the queue
// of another.
func atLocation(c *fiber.Ctx) error {
	if s := auth.StaffOf(c); s != nil && !s.AtLocation(c.Params("id")) {
		return response.ErrForbidden
	}
	return c.Next()
}

// enrollmentValidity is how long a new device's enrollment code works.
const enrollmentValidity = 7 * 24 * time.Hour

// Routes mounts the staff routes on the /api/v1 group.
func (h *Handler) Routes(v1 fiber.Router) {
	v1.Get("/locations/:id/queue/display", h.display)

	desk := v1.Group("/staff", auth.RequireStaff(h.Staff, auth.RoleDesk, auth.RoleAdmin))
	desk.Get("/locations/:id/queue", atLocation, h.queue)
	desk.Post("/locations/:id/call", atLocation, h.callNext)
	desk.Post("/locations/:id/tickets/:ticket/finish", atLocation, h.finish)
	desk.Post("/locations/:id/tickets/:ticket/recall", atLocation, h.recall)
	desk.Post("/locations/:id/tickets/:ticket/transfer", atLocation, h.transfer)
	desk.Get("/locations/:id/flagged-admissions", atLocation, h.flaggedAdmissions)

	admin := v1.Group("/admin", auth.RequireStaff(h.Staff, auth.RoleAdmin))
	admin.Post("/devices", h.registerDevice)
	admin.Get("/devices", h.listDevices)
	admin.Get("/ticket-preview.png", h.ticketPreview)
	admin.Get("/city", h.exportCity)
	if h.Accounts != nil {
		admin.Post("/accounts", h.createAccount)
	}
}
