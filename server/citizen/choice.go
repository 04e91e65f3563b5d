package citizen

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/response"
)

// itemJSON is one line of a choice: a service (count 1 at an office) or a
// pool ticket type with its number of persons.
type itemJSON struct {
	Service string `json:"service"`
	Count   int    `json:"count"`
}

func newItemsJSON(items []booking.Item) []itemJSON {
	out := make([]itemJSON, len(items))
	for i, it := range items {
		out[i] = itemJSON{Service: it.ServiceID, Count: it.Count}
	}
	return out
}

// choiceOf turns the three forms of a choice into items: one service with
// a number of units (the original form), several office services, or
// pool tickets with counts. Exactly one form may be used. Whether the
// items can be booked together is the engine's decision (choice_invalid).
func choiceOf(service string, units *int, services []string, tickets []itemJSON) ([]booking.Item, error) {
	forms := 0
	for _, used := range []bool{service != "", len(services) > 0, len(tickets) > 0} {
		if used {
			forms++
		}
	}
	switch {
	case forms == 0:
		return nil, response.Required("service")
	case forms > 1:
		return nil, response.Invalid("services", "use one of service, services and tickets", "nur eines von service, services und tickets angeben")
	case len(services)+len(tickets) > booking.MaxChoiceItems:
		return nil, booking.ErrChoiceInvalid
	case service != "":
		n := 1
		if units != nil {
			n = *units
		}
		return []booking.Item{{ServiceID: service, Count: n}}, nil
	case len(services) > 0:
		items := make([]booking.Item, len(services))
		for i, s := range services {
			if s == "" {
				return nil, response.Invalid("services", "must not contain empty ids", "darf keine leeren Kennungen enthalten")
			}
			items[i] = booking.Item{ServiceID: s, Count: 1}
		}
		return items, nil
	}
	items := make([]booking.Item, len(tickets))
	for i, t := range tickets {
		if t.Service == "" {
			return nil, response.Invalid("tickets", "every ticket needs a service", "jede Karte braucht eine service-Kennung")
		}
		items[i] = booking.Item{ServiceID: t.Service, Count: t.Count}
	}
	return items, nil
}

// choiceOfQuery reads a choice from the query: service (with units),
// repeated services=ID, or repeated tickets=ID:COUNT.
func choiceOfQuery(c *fiber.Ctx) ([]booking.Item, error) {
	args := c.Context().QueryArgs()
	var services []string
	for _, v := range args.PeekMulti("services") {
		services = append(services, splitList(string(v))...)
	}
	var tickets []itemJSON
	for _, v := range args.PeekMulti("tickets") {
		for _, t := range splitList(string(v)) {
			it, err := parseTicket(t)
			if err != nil {
				return nil, err
			}
			tickets = append(tickets, it)
		}
	}
	var units *int
	if u := c.Query("units"); u != "" {
		n, err := strconv.Atoi(u)
		if err != nil {
			return nil, response.Invalid("units", "must be a whole number", "muss eine ganze Zahl sein")
		}
		units = &n
	}
	return choiceOf(c.Query("service"), units, services, tickets)
}

// splitList splits a comma-separated query value, so services=a,b and
// services=a&services=b mean the same.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseTicket reads one ID:COUNT of the tickets query.
func parseTicket(v string) (itemJSON, error) {
	id, count, ok := strings.Cut(v, ":")
	n, err := strconv.Atoi(count)
	if !ok || id == "" || err != nil {
		return itemJSON{}, response.Invalid("tickets", "must be ID:COUNT", "muss KENNUNG:ANZAHL sein")
	}
	return itemJSON{Service: id, Count: n}, nil
}
