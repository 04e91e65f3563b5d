package web

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
)

// line is one chosen service or ticket type with its count, for display.
type line struct {
	Service booking.Service
	Count   int
	Checked bool
	Field   string
	Max     int
	Error   string
}

// choice is a location with what the citizen chose there.
type choice struct {
	Location booking.Location
	Office   bool
	Lines    []line // every service of the location, chosen or not
	Items    []Item
	Query    string // the choice as URL query, without a leading '?'
	Fields   map[string][]string
	Minutes  int
	Fee      int64
	Online   bool
	// Move is the code of a booking being moved to the chosen time.
	Move string
}

// Chosen are the lines with a count.
func (ch *choice) Chosen() []line {
	var out []line
	for _, l := range ch.Lines {
		if l.Count > 0 {
			out = append(out, l)
		}
	}
	return out
}

func countField(serviceID string) string { return "n_" + serviceID }

// parseChoice reads the choice from the form or query: s=ID (repeated) at
// an office, n_ID=COUNT at a pool. The errors are field errors for the
// summary; preselect marks a deep-linked service.
func (h *Handler) parseChoice(c *fiber.Ctx, t texts, loc *booking.Location, preselect string) (*choice, []fieldError, error) {
	svcs, err := h.Catalog.Services(loc.ID)
	if err != nil {
		return nil, nil, err
	}
	ch := &choice{Location: *loc, Office: loc.Kind != booking.KindPool, Fields: map[string][]string{}}
	args := c.Request().URI().QueryArgs()
	if c.Method() == fiber.MethodPost {
		args = c.Request().PostArgs()
	}
	selected := map[string]bool{}
	for _, v := range args.PeekMulti("s") {
		selected[string(v)] = true
	}
	var errs []fieldError
	q := url.Values{}
	for _, s := range svcs {
		l := line{Service: s, Field: countField(s.ID), Max: max(s.MaxUnits, 1)}
		if ch.Office {
			l.Field = "s-" + s.ID
			if selected[s.ID] || s.ID == preselect {
				l.Checked, l.Count = true, 1
			}
		} else {
			raw := strings.TrimSpace(string(args.Peek(countField(s.ID))))
			switch {
			case raw == "" && s.ID == preselect:
				l.Count = 1
			case raw == "":
			default:
				n, err := strconv.Atoi(raw)
				if err != nil || n < 0 || n > l.Max {
					l.Error = t.f("err_count", l.Max)
					errs = append(errs, fieldError{l.Field, s.Name + ": " + l.Error})
				} else {
					l.Count = n
				}
			}
		}
		if l.Count > 0 {
			ch.Items = append(ch.Items, Item{ServiceID: s.ID, Count: l.Count})
			ch.Minutes = max(ch.Minutes, 0)
			if ch.Office {
				ch.Minutes += s.DurationMinutes
				q.Add("s", s.ID)
			} else {
				ch.Minutes = s.DurationMinutes
				q.Set(countField(s.ID), strconv.Itoa(l.Count))
			}
			ch.Fee += s.FeeCents * int64(l.Count)
			ch.Online = ch.Online || s.Payment == booking.PayOnline
		}
		ch.Lines = append(ch.Lines, l)
	}
	if len(errs) == 0 && len(ch.Items) == 0 && preselect == "" {
		first := ""
		if len(ch.Lines) > 0 {
			first = ch.Lines[0].Field
		}
		key := "err_choose_service"
		if !ch.Office {
			key = "err_choose_count"
		}
		errs = append(errs, fieldError{first, t.get(key)})
	}
	if h.Rescheduler != nil {
		if m := strings.ToUpper(string(args.Peek("umbuchen"))); validCode(m) {
			ch.Move = m
			q.Set("umbuchen", m)
		}
	}
	ch.Query = q.Encode()
	ch.Fields = q
	return ch, errs, nil
}

// itemsFromTicket rebuilds the display lines of a hold ticket.
func (h *Handler) linesOf(locationID string, items []Item) []line {
	svcs, _ := h.Catalog.Services(locationID)
	var out []line
	for _, it := range items {
		for _, s := range svcs {
			if s.ID == it.ServiceID {
				out = append(out, line{Service: s, Count: it.Count})
			}
		}
	}
	return out
}

// validCode reports whether s looks like a booking code.
func validCode(s string) bool {
	if len(s) < 6 || len(s) > 16 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
