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
	scanned := r.ScannedAt
	if scanned.IsZero() || !r.Offline {
		scanned = h.Now()
	}
	// An offline scan is judged by the keys valid when it was made: a
	// key retired since still covered the ticket then.
	claims, err := h.ticketKeys().Verify(r.QR, scanned)
	if err != nil {
		res.Reason = "ticket_invalid"
		return res, nil
	}
	res.Code = claims.Code
	if claims.Location != d.LocationID {
		res.Reason = "wrong_location"
		return res, nil
	}
	if err := claims.ValidAt(scanned, h.GateEarly, h.GateLate); err != nil {
		res.Reason = "outside_slot"
		return res, nil
	}
	first, err := h.Queue.Redeem(c.UserContext(), d.ID, booking.Redemption{
		Code: claims.Code, Location: d.LocationID, Nonce: r.Nonce, ScannedAt: scanned, Offline: r.Offline})
	if err == nil {
		res.Result, res.FirstScannedAt = resultAdmitted, &first.ScannedAt
		return res, nil
	}
	for _, o := range scanOutcomes {
		if errors.Is(err, o.err) {
			res.Result, res.Reason = o.result, o.reason
			if o.err == booking.ErrAlreadyRedeemed || o.err == booking.ErrAdmittedRevoked {
				res.FirstScannedAt = &first.ScannedAt
			}
			if o.err == booking.ErrAdmittedRevoked {
				res.Reason = first.Flag
			}
			return res, nil
		}
	}
	// A store outage fails the whole batch: the device uploads it again,
	// and the nonces make the repeat change nothing.
	return res, err
}

// scanOutcomes are the domain's answers to one scan, each a result of its
// own in the batch.
var scanOutcomes = []struct {
	err            error
	result, reason string
}{
	{booking.ErrAlreadyRedeemed, resultRefused, "already_redeemed"},
	{booking.ErrNonceReused, resultRefused, "nonce_reused"},
	{booking.ErrScanInFuture, resultRefused, "scanned_in_future"},
	{booking.ErrBookingCancelled, resultRefused, booking.FlagCancelled},
	{booking.ErrBookingUnpaid, resultRefused, booking.FlagUnpaid},
	{booking.ErrBookingNotFound, resultRefused, booking.FlagUnknown},
	{booking.ErrCheckInWrongSite, resultRefused, "wrong_location"},
	// The reason is the flag the admission was recorded with.
	{booking.ErrAdmittedRevoked, resultFlagged, ""},
}
