package web

import (
	"fmt"

	"github.com/digitale-verwaltung/termin/booking"
)

// shortDate is a day as the release notice writes it: "15.12.",
// "15 December".
func (t texts) shortDate(d booking.Date) string {
	if t.lang == "de" {
		return fmt.Sprintf("%02d.%02d.", d.Day, int(d.Month))
	}
	return fmt.Sprintf("%d %s", d.Day, d.Month)
}

// notReleasedText says when day opens for booking at loc ("Termine für
// den 15.12. ab 01.12., 08:00 Uhr."); "" when the location has no release
// schedule.
func (h *Handler) notReleasedText(v *view, loc booking.Location, day booking.Date) string {
	_, tz, err := h.Catalog.Location(loc.ID)
	if err != nil {
		return ""
	}
	at, ok := loc.ReleaseOf(day, tz)
	if !ok {
		return ""
	}
	local := at.In(tz)
	return v.texts.f("release_notice", v.texts.shortDate(day), v.texts.shortDate(booking.DateOf(local)), v.texts.clock(local))
}

// releaseNotice is the notice of the next day still to be released, when
// the days shown reach the end of what is released now ("" when every day
// of the horizon is open, or the days shown end before).
func (h *Handler) releaseNotice(v *view, loc booking.Location, to booking.Date) string {
	_, tz, err := h.Catalog.Location(loc.ID)
	if err != nil {
		return ""
	}
	w := loc.BookingWindow(h.now(), tz)
	if !w.Last.Before(w.Horizon) || to.Before(w.Last) {
		return ""
	}
	return h.notReleasedText(v, loc, w.Last.AddDays(1))
}

// dayNotReleased is the notice for a day inside the horizon that is not
// released yet; "" for any other day.
func (h *Handler) dayNotReleased(v *view, loc booking.Location, day booking.Date) string {
	_, tz, err := h.Catalog.Location(loc.ID)
	if err != nil {
		return ""
	}
	w := loc.BookingWindow(h.now(), tz)
	if !w.Last.Before(day) || w.Horizon.Before(day) {
		return ""
	}
	return h.notReleasedText(v, loc, day)
}
