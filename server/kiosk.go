package main

import (
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
)

// kiosk serves counter kiosks, entrance scanners, desks and the waiting
// room display, and the administrator's device registry.
type kiosk struct {
	engine   *booking.Engine
	pg       *booking.Postgres
	queue    *booking.Queue
	key      ed25519.PrivateKey
	adminKey string
	// Gate windows: how long before a slot's start and after its end a
	// ticket admits.
	gateEarly, gateLate time.Duration
}

func (k *kiosk) routes(app *fiber.App) {
	v1 := app.Group("/api/v1")
	v1.Get("/tickets/key", k.publicKey)
	v1.Get("/locations/:id/queue/display", k.display)
	v1.Post("/devices/enroll", k.enroll)

	dev := v1.Group("/kiosk", k.requireDevice)
	dev.Get("/config", k.config)
	dev.Post("/heartbeat", k.heartbeat)
	dev.Post("/walk-ins", k.walkIn)
	dev.Post("/check-ins", k.checkIn)
	dev.Post("/redemptions", k.redeem)

	staff := v1.Group("/staff", k.requireAdmin)
	staff.Get("/locations/:id/queue", k.staffQueue)
	staff.Post("/locations/:id/call", k.callNext)
	staff.Post("/locations/:id/tickets/:ticket/finish", k.finish)

	admin := v1.Group("/admin", k.requireAdmin)
	admin.Post("/devices", k.registerDevice)
	admin.Get("/devices", k.listDevices)
	admin.Get("/ticket-preview.png", k.ticketPreview)
}

var (
	errDeviceUnauthorized = newError(401, "device_unauthorized", "This device is not enrolled or its token is invalid.", "Dieses Gerät ist nicht angemeldet oder sein Token ist ungültig.")
	errAdminUnauthorized  = newError(401, "unauthorized", "A valid staff or administrator key is required.", "Ein gültiger Mitarbeiter- oder Administratorschlüssel ist erforderlich.")
)

func init() {
	domainErrors = append(domainErrors, []struct {
		err error
		api *apiError
	}{
		{booking.ErrDeviceUnknown, errDeviceUnauthorized},
		{booking.ErrDeviceMode, newError(422, "device_mode_invalid", "The mode must be counter or gate.", "Der Modus muss counter oder gate sein.")},
		{booking.ErrEnrollmentCode, newError(410, "enrollment_invalid", "This enrollment code is unknown, used or expired.", "Dieser Anmeldecode ist unbekannt, verbraucht oder abgelaufen.")},
		{booking.ErrQueueEmpty, newError(409, "queue_empty", "Nobody is waiting.", "Niemand wartet.")},
		{booking.ErrTicketNotFound, newError(404, "ticket_not_found", "This queue number does not exist.", "Diese Wartenummer gibt es nicht.")},
		{booking.ErrTicketState, newError(409, "ticket_state", "This is not possible in the ticket's current state.", "Das ist im aktuellen Zustand der Nummer nicht möglich.")},
		{booking.ErrCheckInWrongDay, newError(422, "checkin_wrong_day", "This appointment is not today.", "Dieser Termin ist nicht heute.")},
		{booking.ErrCheckInTooEarly, newError(422, "checkin_too_early", "It is too early to check in for this appointment.", "Für diesen Termin ist es noch zu früh zum Einchecken.")},
		{booking.ErrCheckInTooLate, newError(422, "checkin_too_late", "The time to check in for this appointment has passed.", "Die Zeit zum Einchecken für diesen Termin ist vorbei.")},
		{booking.ErrCheckInWrongSite, newError(422, "wrong_location", "This appointment is at another location.", "Dieser Termin ist an einem anderen Standort.")},
		{booking.ErrBookingCancelled, newError(409, "booking_cancelled", "This booking has been cancelled.", "Diese Buchung wurde storniert.")},
		{booking.ErrTicketMalformed, newError(422, "ticket_invalid", "This code is not a valid ticket.", "Dieser Code ist kein gültiges Ticket.")},
		{booking.ErrTicketSignature, newError(422, "ticket_invalid", "This code is not a valid ticket.", "Dieser Code ist kein gültiges Ticket.")},
	}...)
}

func (k *kiosk) requireDevice(c *fiber.Ctx) error {
	token, err := bearer(c)
	if err != nil {
		return errDeviceUnauthorized
	}
	d, err := k.pg.DeviceByToken(c.UserContext(), token)
	if err != nil {
		return err
	}
	c.Locals("device", d)
	return c.Next()
}

func device(c *fiber.Ctx) *booking.Device { return c.Locals("device").(*booking.Device) }

func (k *kiosk) requireAdmin(c *fiber.Ctx) error {
	token, err := bearer(c)
	if err != nil || k.adminKey == "" || subtle.ConstantTimeCompare([]byte(token), []byte(k.adminKey)) != 1 {
		return errAdminUnauthorized
	}
	return c.Next()
}

func (k *kiosk) publicKeyB64() string {
	return base64.StdEncoding.EncodeToString(k.key.Public().(ed25519.PublicKey))
}

func (k *kiosk) publicKey(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"algorithm": "Ed25519", "public_key": k.publicKeyB64()})
}

type enrollRequest struct {
	Code string `json:"code"`
}

func (k *kiosk) enroll(c *fiber.Ctx) error {
	var req enrollRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	d, token, err := k.pg.EnrollDevice(c.UserContext(), req.Code)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"device": d, "token": token, "public_key": k.publicKeyB64()})
}

func (k *kiosk) config(c *fiber.Ctx) error {
	d := device(c)
	l, _, err := k.engine.Location(d.LocationID)
	if err != nil {
		return err
	}
	services, err := k.engine.Services(d.LocationID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"device": d, "location": locationJSON{l.ID, l.Kind, l.Name, l.Timezone}, "services": services,
		"public_key": k.publicKeyB64(), "gate_early_seconds": int(k.gateEarly.Seconds()), "gate_late_seconds": int(k.gateLate.Seconds()),
	})
}

type heartbeatRequest struct {
	Version string          `json:"version"`
	Status  json.RawMessage `json:"status"`
}

func (k *kiosk) heartbeat(c *fiber.Ctx) error {
	var req heartbeatRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if len(req.Status) == 0 || req.Status[0] != '{' {
		return invalidField("status", "must be an object", "muss ein Objekt sein")
	}
	if err := k.pg.Heartbeat(c.UserContext(), device(c).ID, req.Version, req.Status); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// queueTicketJSON is what a kiosk prints.
type queueTicketJSON struct {
	ID                   int64     `json:"id"`
	Number               string    `json:"number"`
	Location             string    `json:"location"`
	LocationName         string    `json:"location_name"`
	Service              string    `json:"service,omitempty"`
	ServiceName          string    `json:"service_name,omitempty"`
	Ahead                int       `json:"ahead"`
	EstimatedWaitMinutes int       `json:"estimated_wait_minutes"`
	CreatedAt            time.Time `json:"created_at"`
	Appointment          *string   `json:"appointment,omitempty"`
}

func (k *kiosk) ticketJSON(t *booking.QueueTicket) queueTicketJSON {
	out := queueTicketJSON{ID: t.ID, Number: t.Number, Location: t.LocationID, Ahead: t.Ahead,
		EstimatedWaitMinutes: int(math.Ceil(t.EstimatedWait.Minutes())), CreatedAt: t.CreatedAt}
	if l, _, err := k.engine.Location(t.LocationID); err == nil {
		out.LocationName = l.Name
	}
	if t.ServiceID != nil {
		out.Service = *t.ServiceID
		if s, err := k.engine.Service(t.LocationID, *t.ServiceID); err == nil {
			out.ServiceName = s.Name
		}
	}
	return out
}

type walkInRequest struct {
	Service string `json:"service"`
}

func (k *kiosk) walkIn(c *fiber.Ctx) error {
	var req walkInRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	t, err := k.queue.WalkIn(c.UserContext(), device(c).LocationID, req.Service)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(k.ticketJSON(t))
}

type checkInRequest struct {
	QR   string `json:"qr"`
	Code string `json:"code"`
}

func (k *kiosk) checkIn(c *fiber.Ctx) error {
	var req checkInRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	code := req.Code
	if req.QR != "" {
		claims, err := booking.VerifyTicket(k.key.Public().(ed25519.PublicKey), req.QR)
		if err != nil {
			return err
		}
		code = claims.Code
	}
	if code == "" {
		return invalidField("qr", "or code is required", "oder code ist erforderlich")
	}
	t, err := k.queue.CheckIn(c.UserContext(), device(c).LocationID, code)
	if err != nil {
		return err
	}
	out := k.ticketJSON(t)
	// The appointment's start, for the printed ticket (RFC 3339).
	var start time.Time
	if t.BookingID != nil && k.pg.DB().GetContext(c.UserContext(), &start, `SELECT start_at FROM bookings WHERE id = $1`, *t.BookingID) == nil {
		s := start.UTC().Format(time.RFC3339)
		out.Appointment = &s
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

type redemptionIn struct {
	QR        string    `json:"qr"`
	Nonce     string    `json:"nonce"`
	ScannedAt time.Time `json:"scanned_at"`
	Offline   bool      `json:"offline"`
}

type redemptionOut struct {
	Nonce          string     `json:"nonce"`
	Result         string     `json:"result"` // admitted, duplicate (same nonce again), refused
	Code           string     `json:"code,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	FirstScannedAt *time.Time `json:"first_scanned_at,omitempty"`
}

// redeem records entrance scans, online one at a time or uploaded in a
// batch after the network came back. Every scan carries the device's
// nonce, so uploading twice changes nothing.
func (k *kiosk) redeem(c *fiber.Ctx) error {
	var req struct {
		Redemptions []redemptionIn `json:"redemptions"`
	}
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if len(req.Redemptions) == 0 || len(req.Redemptions) > 500 {
		return invalidField("redemptions", "must hold 1 to 500 scans", "muss 1 bis 500 Scans enthalten")
	}
	d := device(c)
	pub := k.key.Public().(ed25519.PublicKey)
	out := make([]redemptionOut, 0, len(req.Redemptions))
	for _, r := range req.Redemptions {
		res := redemptionOut{Nonce: r.Nonce}
		claims, err := booking.VerifyTicket(pub, r.QR)
		switch {
		case r.Nonce == "" || len(r.Nonce) > 100:
			res.Result, res.Reason = "refused", "nonce_invalid"
		case err != nil:
			res.Result, res.Reason = "refused", "ticket_invalid"
		case claims.Location != d.LocationID:
			res.Result, res.Reason, res.Code = "refused", "wrong_location", claims.Code
		}
		if res.Result != "" {
			out = append(out, res)
			continue
		}
		res.Code = claims.Code
		scanned := r.ScannedAt
		if scanned.IsZero() || !r.Offline {
			scanned = k.engine.Now()
		}
		if err := claims.ValidAt(scanned, k.gateEarly, k.gateLate); err != nil {
			res.Result, res.Reason = "refused", "outside_slot"
			out = append(out, res)
			continue
		}
		first, err := k.queue.Redeem(c.UserContext(), d.ID, booking.Redemption{
			Code: claims.Code, Location: d.LocationID, Nonce: r.Nonce, ScannedAt: scanned, Offline: r.Offline})
		switch {
		case errors.Is(err, booking.ErrAlreadyRedeemed):
			res.Result, res.Reason, res.FirstScannedAt = "refused", "already_redeemed", &first.ScannedAt
		case err != nil:
			return err
		default:
			res.Result, res.FirstScannedAt = "admitted", &first.ScannedAt
		}
		out = append(out, res)
	}
	return c.JSON(fiber.Map{"results": out})
}

type displayEntry struct {
	Number string `json:"number"`
	Desk   string `json:"desk"`
}

// display is what the waiting-room screen shows: numbers and desks only.
func (k *kiosk) display(c *fiber.Ctx) error {
	ts, err := k.queue.Today(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	called := []displayEntry{}
	waiting := 0
	for _, t := range ts {
		switch {
		case t.State == booking.QueueCalled && t.Desk != nil && len(called) < 10:
			called = append(called, displayEntry{t.Number, *t.Desk})
		case t.State == booking.QueueWaiting:
			waiting++
		}
	}
	return c.JSON(fiber.Map{"called": called, "waiting": waiting})
}

func (k *kiosk) staffQueue(c *fiber.Ctx) error {
	ts, err := k.queue.Today(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tickets": ts})
}

func (k *kiosk) callNext(c *fiber.Ctx) error {
	var req struct {
		Desk string `json:"desk"`
	}
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if req.Desk == "" || len(req.Desk) > 20 {
		return invalidField("desk", "is required (at most 20 characters)", "ist erforderlich (höchstens 20 Zeichen)")
	}
	t, err := k.queue.CallNext(c.UserContext(), c.Params("id"), req.Desk)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (k *kiosk) finish(c *fiber.Ctx) error {
	var req struct {
		State string `json:"state"`
	}
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	id, err := c.ParamsInt("ticket")
	if err != nil {
		return booking.ErrTicketNotFound
	}
	t, err := k.queue.Finish(c.UserContext(), c.Params("id"), int64(id), req.State)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

type registerDeviceRequest struct {
	Location string `json:"location"`
	Name     string `json:"name"`
	Mode     string `json:"mode"`
}

func (k *kiosk) registerDevice(c *fiber.Ctx) error {
	var req registerDeviceRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if _, _, err := k.engine.Location(req.Location); err != nil {
		return err
	}
	if req.Name == "" {
		return invalidField("name", "is required", "ist erforderlich")
	}
	d, code, err := k.pg.RegisterDevice(c.UserContext(), req.Location, req.Name, req.Mode, 7*24*time.Hour)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"device": d, "enrollment_code": code})
}

func (k *kiosk) listDevices(c *fiber.Ctx) error {
	ds, err := k.pg.Devices(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(ds)
}
