package web

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
)

// deviceOnline is how recent a device's last heartbeat must be for the
// page to call it online (kiosks beat every minute).
const deviceOnline = 3 * time.Minute

type deviceRow struct {
	booking.Device
	Location string
	State    string // text key: adm_dev_online, adm_dev_offline, adm_dev_waiting, adm_dev_revoked
	LastSeen string
	Detail   string
	Revoked  bool
}

type devicesPage struct {
	Devices   []deviceRow
	Locations []booking.Location
	// Enrolled is the device just registered and Code its enrollment
	// code, shown this once.
	Enrolled *booking.Device
	Code     string
	Revoked  string
	Form     *adminForm
}

func (h *Handler) devicesPage(c *fiber.Ctx, f *adminForm) (*devicesPage, error) {
	ds, revoked, err := h.Admin.Devices(c.UserContext())
	if err != nil {
		return nil, err
	}
	locs, _ := h.Admin.Catalog()
	names := map[string]string{}
	zones := map[string]*time.Location{}
	for _, l := range locs {
		names[l.ID] = l.Name
		zones[l.ID], _ = l.TimeLocation()
	}
	t := f.t
	now := h.now()
	p := &devicesPage{Locations: locs, Form: f}
	for _, d := range ds {
		r := deviceRow{Device: d, Location: names[d.LocationID]}
		tz := zones[d.LocationID]
		if tz == nil {
			tz = time.UTC
		}
		switch at, ok := revoked[d.ID]; {
		case ok:
			r.State, r.Revoked = "adm_dev_revoked", true
			r.Detail = t.date(at.In(tz))
		case d.EnrolledAt == nil:
			r.State = "adm_dev_waiting"
		case d.LastSeenAt != nil && now.Sub(*d.LastSeenAt) < deviceOnline:
			r.State = "adm_dev_online"
		default:
			r.State = "adm_dev_offline"
		}
		if d.LastSeenAt != nil {
			r.LastSeen = t.date(d.LastSeenAt.In(tz)) + ", " + t.clock(d.LastSeenAt.In(tz))
		}
		if r.Detail == "" && len(d.Status) > 2 && len(d.Status) <= 300 {
			r.Detail = string(d.Status)
		}
		p.Devices = append(p.Devices, r)
	}
	return p, nil
}

func (h *Handler) adminDevices(c *fiber.Ctx) error {
	f := newAdminForm(c)
	f.Values["mode"] = booking.ModeCounter
	p, err := h.devicesPage(c, f)
	if err != nil {
		return err
	}
	p.Revoked = c.Query("gesperrt")
	return h.adminRender(c, fiber.StatusOK, "staff_admin_devices", "adm_devices_title", p, f)
}

// adminDeviceEnrol registers a device and shows its enrollment code once;
// only its hash is stored.
func (h *Handler) adminDeviceEnrol(c *fiber.Ctx) error {
	f := newAdminForm(c)
	name := f.text("name", 100, true)
	loc := c.FormValue("location")
	f.Values["location"] = loc
	if _, ok := h.findLocation(loc); !ok {
		f.fail("location", "adm_err_location")
	}
	mode := c.FormValue("mode")
	f.Values["mode"] = mode
	if mode != booking.ModeCounter && mode != booking.ModeGate {
		f.fail("mode", "adm_err_mode")
	}
	var enrolled *booking.Device
	var code string
	if len(f.errs) == 0 {
		d, cd, err := h.Admin.RegisterDevice(c.UserContext(), loc, name, mode)
		if err != nil {
			return err
		}
		enrolled, code = d, cd
		h.audit(c, "device.register", "device:"+d.ID, "location="+loc+" mode="+mode)
	}
	p, err := h.devicesPage(c, f)
	if err != nil {
		return err
	}
	status := fiber.StatusUnprocessableEntity
	if enrolled != nil {
		status = fiber.StatusCreated
		p.Enrolled, p.Code = enrolled, code
		// The code is shown this once: keep it out of caches.
		c.Set(fiber.HeaderCacheControl, "no-store")
		f.Values["name"] = ""
	}
	return h.adminRender(c, status, "staff_admin_devices", "adm_devices_title", p, f)
}

func (h *Handler) adminDeviceRevoke(c *fiber.Ctx) error {
	id := c.Params("id")
	err := h.Admin.RevokeDevice(c.UserContext(), id)
	if errors.Is(err, ErrDeviceUnknown) {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "not_found")
	}
	if err != nil {
		return err
	}
	h.audit(c, "device.revoke", "device:"+id, "")
	return c.Redirect(adminPrefix+"/geraete?gesperrt="+id, fiber.StatusSeeOther)
}
