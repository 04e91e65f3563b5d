package citizen

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) listLocations(c *fiber.Ctx) error {
	return response.OK(c, response.List(h.Catalog.Locations(), NewLocation))
}

func (h *Handler) listServices(c *fiber.Ctx) error {
	services, err := h.Catalog.Services(c.Params("id"))
	if err != nil {
		return err
	}
	return response.OK(c, response.List(services, newServiceJSON))
}
