package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// api serves the public booking API under /api/v1.
type api struct {
	engine *booking.Engine
	// key signs the QR payload of a booking.
	key            ed25519.PrivateKey
	log            *slog.Logger
	limiter        *fairness.Limiter
	pow            *fairness.Challenges
	clientIPHeader string
	// pay books fee-paying services as pending payment (payment.go).
	pay *payments
}

func newAPI(d *deps) *api {
	limiter, pow := newFairness(d)
	return &api{engine: d.engine, key: d.signingKey, log: d.log, limiter: limiter, pow: pow, clientIPHeader: d.cfg.ClientIPHeader, pay: d.pay}
}

func (a *api) routes(app *fiber.App) {
	v1 := app.Group("/api/v1")
	v1.Get("/locations", a.listLocations)
	v1.Get("/locations/:id/services", a.listServices)
	v1.Get("/availability", a.availability)
	v1.Get("/challenge", a.challenge)
	v1.Post("/holds", a.rateLimited("holds"), a.createHold)
	v1.Delete("/holds/:id", a.deleteHold)
	v1.Post("/bookings", a.rateLimited("bookings"), a.createBooking)
	v1.Get("/bookings/:code", a.getBooking)
	v1.Delete("/bookings/:code", a.cancelBooking)
}

type locationJSON struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

func (a *api) listLocations(c *fiber.Ctx) error {
	locs := a.engine.Locations()
	out := make([]locationJSON, len(locs))
	for i, l := range locs {
		out[i] = locationJSON{l.ID, l.Kind, l.Name, l.Timezone}
	}
	return c.JSON(out)
}

type serviceJSON struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	DurationMinutes int    `json:"duration_minutes"`
	FeeCents        int64  `json:"fee_cents"`
	Payment         string `json:"payment"`
	MaxUnits        int    `json:"max_units"`
}

func (a *api) listServices(c *fiber.Ctx) error {
	services, err := a.engine.Services(c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]serviceJSON, len(services))
	for i, s := range services {
		out[i] = serviceJSON{s.ID, s.Name, s.DurationMinutes, s.FeeCents, s.Payment, s.MaxUnits}
	}
	return c.JSON(out)
}

func (a *api) availability(c *fiber.Ctx) error {
	loc, svc := c.Query("location"), c.Query("service")
	if loc == "" {
		return invalidField("location", "is required", "ist erforderlich")
	}
	if svc == "" {
		return invalidField("service", "is required", "ist erforderlich")
	}
	from, err := booking.ParseDate(c.Query("from"))
	if err != nil {
		return invalidField("from", "must be a date YYYY-MM-DD", "muss ein Datum JJJJ-MM-TT sein")
	}
	to, err := booking.ParseDate(c.Query("to", c.Query("from")))
	if err != nil {
		return invalidField("to", "must be a date YYYY-MM-DD", "muss ein Datum JJJJ-MM-TT sein")
	}
	if to.Before(from) {
		return invalidField("to", "must not be before from", "darf nicht vor from liegen")
	}
	if from.AddDays(booking.MaxAvailabilityDays - 1).Before(to) {
		return newError(400, "range_too_long", "At most 31 days can be queried at once.", "Es können höchstens 31 Tage auf einmal abgefragt werden.")
	}
	slots, err := a.engine.Availability(c.UserContext(), loc, svc, from, to)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"slots": slots})
}

// decodeBody parses a JSON body strictly enough that a wrong type is a
// clear error rather than a zero value.
func decodeBody(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(body) == 0 {
		return errInvalidJSON
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalidField(te.Field, "has the wrong type", "hat den falschen Typ")
		}
		return errInvalidJSON
	}
	return nil
}

type holdRequest struct {
	Location string `json:"location"`
	Service  string `json:"service"`
	Start    string `json:"start"`
	Units    *int   `json:"units"`
	// Pow is the solved challenge, when the location-day asks for one.
	Pow *powJSON `json:"pow"`
}

type holdJSON struct {
	ID          string    `json:"id"`
	ExpiresAt   time.Time `json:"expires_at"`
	Units       int       `json:"units"`
	UnitIndexes []int     `json:"unit_indexes"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Location    string    `json:"location"`
	Service     string    `json:"service"`
}

func (a *api) createHold(c *fiber.Ctx) error {
	var req holdRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if req.Location == "" {
		return invalidField("location", "is required", "ist erforderlich")
	}
	if req.Service == "" {
		return invalidField("service", "is required", "ist erforderlich")
	}
	start, err := time.Parse(time.RFC3339, req.Start)
	if err != nil {
		return invalidField("start", "must be an RFC 3339 time", "muss eine Zeit im Format RFC 3339 sein")
	}
	units := 1
	if req.Units != nil {
		units = *req.Units
	}
	_, tz, err := a.engine.Location(req.Location)
	if err != nil {
		return err
	}
	if err := a.requireProof(c, req.Location, booking.DateOf(start.In(tz)).String(), req.Pow); err != nil {
		return err
	}
	h, err := a.engine.PlaceHold(c.UserContext(), req.Location, req.Service, start, units)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(holdJSON{
		ID: h.ID, ExpiresAt: h.ExpiresAt, Units: len(h.Units), UnitIndexes: h.Units,
		Start: h.Start, End: h.End, Location: h.LocationID, Service: h.ServiceID,
	})
}

func (a *api) deleteHold(c *fiber.Ctx) error {
	if err := a.engine.ReleaseHold(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type bookingRequest struct {
	Hold  string `json:"hold"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type bookingJSON struct {
	Code        string     `json:"code"`
	ManageToken string     `json:"manage_token,omitempty"`
	Status      string     `json:"status"`
	Start       time.Time  `json:"start"`
	End         time.Time  `json:"end"`
	Location    string     `json:"location"`
	Service     string     `json:"service"`
	Units       int        `json:"units"`
	Name        string     `json:"name,omitempty"`
	Email       string     `json:"email,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	// QR is the signed payload of the confirmation's QR code.
	QR string `json:"qr,omitempty"`
}

func (a *api) toBookingJSON(b *booking.Booking) bookingJSON {
	out := bookingJSON{
		Code: b.Code, Status: b.Status, Start: b.Start, End: b.End, Location: b.LocationID,
		Service: b.ServiceID, Units: len(b.Units), Name: b.Name, Email: b.Email,
		CreatedAt: b.CreatedAt, CancelledAt: b.CancelledAt,
	}
	if b.Status == booking.StatusConfirmed {
		out.QR = booking.SignTicket(a.key, booking.ClaimsOf(b))
	}
	return out
}

func (a *api) createBooking(c *fiber.Ctx) error {
	var req bookingRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if req.Hold == "" {
		return invalidField("hold", "is required", "ist erforderlich")
	}
	svc, err := a.engine.HoldService(c.UserContext(), req.Hold)
	if err != nil {
		return err
	}
	if a.pay.needsPayment(svc) {
		return a.pay.createBooking(c, a, req, svc)
	}
	conf, err := a.engine.Book(c.UserContext(), req.Hold, booking.Contact{Name: req.Name, Email: req.Email}, booking.BookOptions{})
	if err != nil {
		return err
	}
	out := a.toBookingJSON(conf.Booking)
	out.ManageToken = conf.ManageToken
	return c.Status(fiber.StatusCreated).JSON(out)
}

// bearer returns the manage token of the Authorization header.
func bearer(c *fiber.Ctx) (string, error) {
	h := c.Get(fiber.HeaderAuthorization)
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return "", errUnauthorized
	}
	return strings.TrimSpace(token), nil
}

func (a *api) getBooking(c *fiber.Ctx) error {
	token, err := bearer(c)
	if err != nil {
		return err
	}
	b, err := a.engine.Lookup(c.UserContext(), c.Params("code"), token)
	if err != nil {
		return err
	}
	return c.JSON(a.toBookingJSON(b))
}

func (a *api) cancelBooking(c *fiber.Ctx) error {
	token, err := bearer(c)
	if err != nil {
		return err
	}
	hook, err := a.pay.cancelHook(c, c.Params("code"), token)
	if err != nil {
		return err
	}
	if _, err := a.engine.Cancel(c.UserContext(), c.Params("code"), token, hook); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
