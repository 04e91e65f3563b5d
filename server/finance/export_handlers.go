package finance

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/response"
)

func (h *Handler) exports(c *fiber.Ctx) error {
	if h.ExportDir == "" {
		return response.OK(c, newExportsJSON([]payment.ExportFile{}))
	}
	files, err := payment.ExportFiles(h.ExportDir)
	if err != nil {
		return err
	}
	return response.OK(c, newExportsJSON(files))
}

func (h *Handler) exportFile(c *fiber.Ctx) error {
	name := c.Params("name")
	if h.ExportDir == "" || !payment.ValidExportName(name) {
		return response.ErrExportNotFound
	}
	data, err := os.ReadFile(filepath.Join(h.ExportDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return response.ErrExportNotFound
	}
	if err != nil {
		return err
	}
	ct := "text/csv; charset=utf-8"
	if filepath.Ext(name) == ".sha256" {
		ct = "text/plain; charset=utf-8"
	}
	return response.Attachment(c, ct, name, data)
}
