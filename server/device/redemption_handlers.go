package device

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

// redeem records entrance scans, online one at a time or uploaded in a
// batch after the network came back. Every scan carries the device's
// nonce, so uploading twice changes nothing.
func (h *Handler) redeem(c *fiber.Ctx) error {
	var req redemptionsRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if len(req.Redemptions) == 0 || len(req.Redemptions) > 500 {
		return response.Invalid("redemptions", "must hold 1 to 500 scans", "muss 1 bis 500 Scans enthalten")
	}
	d := auth.DeviceOf(c)
	out := make([]redemptionOut, 0, len(req.Redemptions))
	for _, r := range req.Redemptions {
		res, err := h.redeemOne(c, d, r)
		if err != nil {
			return err
		}
		out = append(out, res)
	}
	return response.OK(c, redemptionsJSON{Results: out})
}

// redeemOne checks one scan and records it when it admits; only a store
// failure is an error.
func (h *Handler) redeemOne(c *fiber.Ctx, d *booking.Device, r redemptionIn) (redemptionOut, error) {
	res := redemptionOut{Nonce: r.Nonce, Result: resultRefused}
	if r.Nonce == "" || len(r.Nonce) > 100 {
		res.Reason = "nonce_invalid"
		return res, nil
	}
	claims, err := booking.VerifyTicket(h.PublicKey, r.QR)
	if err != nil {
		res.Reason = "ticket_invalid"
		return res, nil
	}
	res.Code = claims.Code
	if claims.Location != d.LocationID {
		res.Reason = "wrong_location"
		return res, nil
	}
	scanned := r.ScannedAt
	if scanned.IsZero() || !r.Offline {
		scanned = h.Now()
	}
	if err := claims.ValidAt(scanned, h.GateEarly, h.GateLate); err != nil {
		res.Reason = "outside_slot"
		return res, nil
	}
	first, err := h.Queue.Redeem(c.UserContext(), d.ID, booking.Redemption{
		Code: claims.Code, Location: d.LocationID, Nonce: r.Nonce, ScannedAt: scanned, Offline: r.Offline})
	switch {
	case errors.Is(err, booking.ErrAlreadyRedeemed):
		res.Reason, res.FirstScannedAt = "already_redeemed", &first.ScannedAt
	case err != nil:
		return res, err
	default:
		res.Result, res.FirstScannedAt = resultAdmitted, &first.ScannedAt
	}
	return res, nil
}
