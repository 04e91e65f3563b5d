package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/web"
)

// catalogAdmin carries out the administrators' changes of the catalog:
// a change that leaves live bookings outside the new rules is refused
// with the list of them, unless the administrator chose to cancel
// exactly those. Each cancellation is one transaction of its own (the
// booking, the citizen's cancellation mail in the booking events outbox,
// the refund or payment cancellation in the payment outbox), all of them
// before the change is saved: a crash half-way leaves the catalog as it
// was and some bookings cancelled with their mails and refunds under
// way, and the administrator repeats the change.
type catalogAdmin struct{ d *deps }

var _ web.Administration = catalogAdmin{}

// Catalog lists all locations and their active services.
func (a catalogAdmin) Catalog() ([]booking.Location, []booking.Service) {
	locs := a.d.engine.Locations()
	var services []booking.Service
	for _, l := range locs {
		s, err := a.d.engine.Services(l.ID)
		if err == nil {
			services = append(services, s...)
		}
	}
	return locs, services
}

func (a catalogAdmin) Apply(ctx context.Context, ch web.CatalogChange) ([]booking.Conflict, error) {
	agreed := make(map[int64]bool, len(ch.Cancel))
	for _, id := range ch.Cancel {
		agreed[id] = true
	}
	var all []booking.Conflict
	open := false
	for i := range ch.Locations {
		l := &ch.Locations[i]
		if err := l.Validate(servicesOf(ch.Services, l.ID)); err != nil {
			return nil, fmt.Errorf("%w: %w", web.ErrCatalogInvalid, err)
		}
		cs, err := a.d.engine.Conflicts(ctx, a.d.pg, l, servicesOf(ch.Services, l.ID))
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if !agreed[c.Booking.ID] {
				open = true
			}
		}
		all = append(all, cs...)
	}
	if open {
		return all, booking.ErrConflicts
	}
	var rec booking.CancelRecorder
	if a.d.pay.flow != nil {
		rec = a.d.pay.flow.OfficeCancellation()
	}
	for _, c := range all {
		if err := a.d.pg.NoteStaffCancellation(ctx, c.Booking.ID, ch.AccountID, ch.Reason); err != nil {
			return nil, err
		}
		if _, err := a.d.engine.CancelByStaff(ctx, c.Booking.ID, rec); err != nil {
			return nil, err
		}
		a.d.log.InfoContext(ctx, "booking cancelled by the office", "booking", c.Booking.ID, "account", ch.AccountID)
	}
	if len(ch.Locations) > 0 {
		if err := a.d.pg.SaveCatalog(ctx, ch.Locations, ch.Services); err != nil {
			return nil, err
		}
	}
	if len(ch.Accounting) > 0 {
		if err := a.d.pay.store.SaveAccounting(ctx, ch.Accounting); err != nil {
			return nil, err
		}
	}
	// This replica at once; the others on the NOTIFY (see watchCatalog).
	if err := a.d.engine.Reload(ctx); err != nil {
		return nil, fmt.Errorf("reload the catalog after a change: %w", err)
	}
	return all, nil
}

func (a catalogAdmin) Conflicts(ctx context.Context, l *booking.Location, services []booking.Service) ([]booking.Conflict, error) {
	return a.d.engine.Conflicts(ctx, a.d.pg, l, services)
}

// WriteCity writes the catalogue as a city file.
func (a catalogAdmin) WriteCity(w io.Writer) error {
	locs, services := a.Catalog()
	return booking.WriteCity(w, locs, services)
}

func servicesOf(services []booking.Service, locationID string) []booking.Service {
	var out []booking.Service
	for _, s := range services {
		if s.LocationID == locationID {
			out = append(out, s)
		}
	}
	return out
}

func (a catalogAdmin) Accounting(ctx context.Context, serviceID string) (payment.Accounting, error) {
	return a.d.pay.store.Accounting(ctx, serviceID)
}

func (a catalogAdmin) Devices(ctx context.Context) ([]booking.Device, map[string]time.Time, error) {
	ds, err := a.d.pg.Devices(ctx)
	if err != nil {
		return nil, nil, err
	}
	revoked, err := a.d.pg.RevokedDevices(ctx)
	if err != nil {
		return nil, nil, err
	}
	return ds, revoked, nil
}

// enrollmentValidity is how long a new device's enrollment code works (as
// for devices registered through the API).
const enrollmentValidity = 7 * 24 * time.Hour

func (a catalogAdmin) RegisterDevice(ctx context.Context, locationID, name, mode string) (*booking.Device, string, error) {
	return a.d.pg.RegisterDevice(ctx, locationID, name, mode, enrollmentValidity)
}

func (a catalogAdmin) RevokeDevice(ctx context.Context, id string) error {
	err := a.d.pg.RevokeDevice(ctx, id)
	if errors.Is(err, booking.ErrDeviceUnknown) {
		return web.ErrDeviceUnknown
	}
	return err
}
