package web

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
)

// maxCityFile bounds an uploaded city file (the server's body limit is
// lower still).
const maxCityFile = 1 << 20

type cityPage struct {
	// City is the uploaded file, carried in the form again while its
	// conflicts are listed.
	City      string
	Conflicts *conflictsView
	Imported  bool
	Count     int
	Cancelled int
	Form      *adminForm
}

func (h *Handler) adminCityFile(c *fiber.Ctx) error {
	p := &cityPage{Imported: c.Query("eingelesen") != "", Form: newAdminForm(c)}
	fmt.Sscan(c.Query("standorte"), &p.Count)
	fmt.Sscan(c.Query("storniert"), &p.Cancelled)
	return h.adminRender(c, fiber.StatusOK, "staff_admin_city", "adm_city_title", p, nil)
}

// adminCityDownload writes the current catalog as a city file.
func (h *Handler) adminCityDownload(c *fiber.Ctx) error {
	locs, services := h.Admin.Catalog()
	var buf bytes.Buffer
	if err := booking.WriteCity(&buf, locs, services); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="democity.json"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

// uploadedCity is the file of the upload field, or the file carried in
// the conflicts form.
func uploadedCity(c *fiber.Ctx) ([]byte, error) {
	if fh, err := c.FormFile("file"); err == nil {
		if fh.Size > maxCityFile {
			return nil, errCityTooLarge
		}
		r, err := fh.Open()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(io.LimitReader(r, maxCityFile))
	}
	return []byte(c.FormValue("city")), nil
}

var errCityTooLarge = fmt.Errorf("web: city file larger than %d bytes", maxCityFile)

// adminCityUpload imports a city file: its locations and services are
// saved (locations not in the file stay as they are), after the same
// checks and with the same handling of conflicts as a change on the
// forms.
func (h *Handler) adminCityUpload(c *fiber.Ctx) error {
	f := newAdminForm(c)
	raw, err := uploadedCity(c)
	p := &cityPage{Form: f}
	if err != nil || len(bytes.TrimSpace(raw)) == 0 {
		f.fail("file", "adm_err_city_missing")
		return h.adminRender(c, fiber.StatusUnprocessableEntity, "staff_admin_city", "adm_city_title", p, f)
	}
	p.City = string(raw)
	locs, services, perr := booking.ParseCity(bytes.NewReader(raw))
	if perr != nil {
		f.fail("file", "adm_err_city_invalid", shortError(perr.Error()))
		p.City = ""
		return h.adminRender(c, fiber.StatusUnprocessableEntity, "staff_admin_city", "adm_city_title", p, f)
	}
	if msg := h.checkCityIDs(f, locs, services); msg != "" {
		f.fail("file", "adm_err_city_invalid", msg)
		p.City = ""
		return h.adminRender(c, fiber.StatusUnprocessableEntity, "staff_admin_city", "adm_city_title", p, f)
	}
	cancel, reason := f.cancelChoice()
	if f.ready() {
		cancelled, conflicts, done, err := h.applyChange(c, f, CatalogChange{Locations: locs, Services: services, Cancel: cancel, Reason: reason})
		if err != nil {
			return err
		}
		if done {
			h.auditCancellations(c, cancelled, reason)
			h.audit(c, "city.import", "catalog", fmt.Sprintf("locations=%d services=%d cancelled=%d", len(locs), len(services), len(cancelled)))
			return c.Redirect(fmt.Sprintf("%s/stadtdatei?eingelesen=1&standorte=%d&storniert=%d", adminPrefix, len(locs), len(cancelled)), fiber.StatusSeeOther)
		}
		p.Conflicts = conflicts
	}
	return h.adminRender(c, fiber.StatusUnprocessableEntity, "staff_admin_city", "adm_city_title", p, f)
}

// checkCityIDs refuses what the file format allows but administration
// does not: a new location with a reserved id, an existing location of
// another kind, a service that belongs to another location.
func (h *Handler) checkCityIDs(f *adminForm, locs []booking.Location, services []booking.Service) string {
	seen := map[string]bool{}
	for _, l := range locs {
		if seen[l.ID] {
			return f.t.f("adm_err_city_twice", l.ID)
		}
		seen[l.ID] = true
		old, exists := h.findLocation(l.ID)
		if !exists {
			if err := booking.CheckLocationID(l.ID); err != nil {
				return f.t.f("adm_err_city_id", l.ID)
			}
			continue
		}
		if old.Kind != l.Kind {
			return f.t.f("adm_err_city_kind", l.ID)
		}
	}
	svcSeen := map[string]bool{}
	for _, s := range services {
		if svcSeen[s.ID] || booking.CheckID(s.ID) != nil {
			return f.t.f("adm_err_city_service", s.ID)
		}
		svcSeen[s.ID] = true
		if old, ok := h.findService(s.ID); ok && old.LocationID != s.LocationID {
			return f.t.f("adm_err_city_service", s.ID)
		}
	}
	return ""
}

// shortError keeps a parser's message readable on the page.
func shortError(s string) string {
	s = strings.TrimPrefix(s, "city file: ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
