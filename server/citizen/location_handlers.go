package citizen

import (
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) listLocations(c *fiber.Ctx) error {
	locs := h.Catalog.Locations()
	out := make([]Location, len(locs))
	for i := range locs {
		out[i] = NewLocation(&locs[i])
	}
	return response.OK(c, out)
}

func (h *Handler) listServices(c *fiber.Ctx) error {
	services, err := h.Catalog.Services(c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]serviceJSON, len(services))
	for i := range services {
		out[i] = newServiceJSON(&services[i])
	}
	return response.OK(c, out)
}
