package staff

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/device"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) registerDevice(c *fiber.Ctx) error {
	var req registerDeviceRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if _, _, err := h.Catalog.Location(req.Location); err != nil {
		return err
	}
	if req.Name == "" {
		return response.Required("name")
	}
	d, code, err := h.Devices.RegisterDevice(c.UserContext(), req.Location, req.Name, req.Mode, enrollmentValidity)
	if err != nil {
		return err
	}
	return response.Created(c, registeredJSON{Device: device.NewDevice(d), EnrollmentCode: code})
}

func (h *Handler) listDevices(c *fiber.Ctx) error {
	ds, err := h.Devices.Devices(c.UserContext())
	if err != nil {
		return err
	}
	return response.OK(c, response.List(ds, device.NewDevice))
}
