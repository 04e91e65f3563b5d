package device

import (
	"encoding/base64"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) publicKeyB64() string {
	return base64.StdEncoding.EncodeToString(h.activePublicKey())
}

// ticketKeysJSON lists the keys a device accepts tickets of.
func (h *Handler) ticketKeysJSON() []ticketKeyJSON {
	keys := h.ticketKeys()
	out := make([]ticketKeyJSON, 0, len(keys))
	for _, k := range keys {
		j := ticketKeyJSON{ID: k.ID, PublicKey: base64.StdEncoding.EncodeToString(k.Public), Active: k.Active}
		if !k.VerifyUntil.IsZero() {
			until := k.VerifyUntil
			j.VerifyUntil = &until
		}
		out = append(out, j)
	}
	return out
}

func (h *Handler) publicKey(c *fiber.Ctx) error {
	return response.OK(c, publicKeyJSON{Algorithm: "Ed25519", PublicKey: h.publicKeyB64()})
}

func (h *Handler) enroll(c *fiber.Ctx) error {
	var req enrollRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	d, token, err := h.Registry.EnrollDevice(c.UserContext(), req.Code)
	if err != nil {
		return err
	}
	return response.Created(c, enrollJSON{Device: NewDevice(d), Token: token, PublicKey: h.publicKeyB64()})
}
