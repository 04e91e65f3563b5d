package device

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/citizen"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) config(c *fiber.Ctx) error {
	d := auth.DeviceOf(c)
	l, _, err := h.Catalog.Location(d.LocationID)
	if err != nil {
		return err
	}
	services, err := h.Catalog.Services(d.LocationID)
	if err != nil {
		return err
	}
	out := configJSON{
		Device: NewDevice(d), Location: citizen.NewLocation(l), Services: response.List(services, newServiceJSON), PublicKey: h.publicKeyB64(), Keys: h.ticketKeysJSON(),
		GateEarlySeconds: int(h.GateEarly.Seconds()), GateLateSeconds: int(h.GateLate.Seconds()),
	}
	if d.Mode == booking.ModeGate && h.Revocations != nil {
		now := h.Now()
		codes, err := h.Revocations.RevokedCodes(c.UserContext(), d.LocationID, now.Add(-h.GateLate), now.Add(revocationHorizon))
		if err != nil {
			return err
		}
		if codes == nil {
			codes = []string{}
		}
		out.Revoked, out.RevokedAt = codes, &now
	}
	return response.OK(c, out)
}

func (h *Handler) heartbeat(c *fiber.Ctx) error {
	var req heartbeatRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if len(req.Status) == 0 || req.Status[0] != '{' {
		return response.Invalid("status", "must be an object", "muss ein Objekt sein")
	}
	if err := h.Registry.Heartbeat(c.UserContext(), auth.DeviceOf(c).ID, req.Version, req.Status); err != nil {
		return err
	}
	return response.NoContent(c)
}
