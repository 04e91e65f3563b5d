package web

import (
	"context"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// deskCatalog has two offices and a pool.
type deskCatalog struct{}

func (deskCatalog) Locations() []booking.Location {
	return []booking.Location{{ID: "amt", Name: "Bürgeramt", Kind: booking.KindOffice}, {ID: "bad", Name: "Stadtbad", Kind: booking.KindPool},
		{ID: "amt2", Name: "Bürgerbüro Nord", Kind: booking.KindOffice}}
}

func (c deskCatalog) Location(id string) (*booking.Location, *time.Location, error) {
	for _, l := range c.Locations() {
		if l.ID == id {
			return &l, time.UTC, nil
		}
	}
	return nil, nil, booking.ErrLocationUnknown
}

func (deskCatalog) Services(string) ([]booking.Service, error) {
	return []booking.Service{{ID: "ausweis", Name: "Personalausweis"}, {ID: "pass", Name: "Reisepass"}}, nil
}

// fakeDesk records the desk's calls; empty makes the queue empty.
type fakeDesk struct {
	mu    sync.Mutex
	calls []string
	empty bool
}

func (f *fakeDesk) Today(context.Context, string) ([]booking.QueueTicket, error) {
	svc := "ausweis"
	return []booking.QueueTicket{{ID: 7, Number: "A002", State: booking.QueueWaiting, ServiceID: &svc, CreatedAt: time.Now().Add(-5 * time.Minute)}}, nil
}

func (f *fakeDesk) CallNext(_ context.Context, loc, desk string) (*booking.QueueTicket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.empty {
		return nil, booking.ErrQueueEmpty
	}
	f.calls = append(f.calls, loc+"/"+desk)
	return &booking.QueueTicket{ID: 1, Number: "A001", State: booking.QueueCalled, Desk: &desk}, nil
}

func (f *fakeDesk) Recall(context.Context, string, int64, string) (*booking.QueueTicket, error) {
	return nil, booking.ErrTicketState
}

func (f *fakeDesk) Transfer(context.Context, string, int64, string) (*booking.QueueTicket, error) {
	return nil, booking.ErrServiceUnknown
}

func (f *fakeDesk) Finish(_ context.Context, _ string, id int64, state string) (*booking.QueueTicket, error) {
	return &booking.QueueTicket{ID: id, Number: "A001", State: state}, nil
}

// TestDeskPageFlow: the desk view asks for the desk number first, then
// every action answers with a redirect back and a notice, is audited, and
// stays at the account's location.
func TestDeskPageFlow(t *testing.T) {
	accts, log, desk := newFakeAccounts(), &fakeAudit{}, &fakeDesk{}
	h := &Handler{Accounts: accts, Audit: log, Catalog: deskCatalog{}, Desk: desk}
	app := staffApp(h)
	id := accts.session(t, auth.RoleDesk)
	accts.mu.Lock()
	for _, a := range accts.accounts {
		a.LocationID = "amt"
	}
	accts.mu.Unlock()
	get := func(path string) (int, string) {
		t.Helper()
		res := staffRequest(t, app, "GET", path, id, nil)
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		res := staffRequest(t, app, "POST", path, id, form)
		return res.StatusCode, res.Header.Get("Location")
	}

	if status, body := get("/intern/schalter"); status != 200 || !strings.Contains(body, `name="schalter"`) || !strings.Contains(body, "A002") {
		t.Fatalf("first visit: %d, desk form and line expected:\n%s", status, body)
	}
	if status, loc := post("/intern/schalter/aufrufen", url.Values{"standort": {"amt"}}); status != 303 || loc != "/intern/schalter?standort=amt" || len(desk.calls) != 0 {
		t.Fatalf("call before choosing a desk: %d %q %v", status, loc, desk.calls)
	}
	if status, loc := post("/intern/schalter/platz", url.Values{"standort": {"amt"}, "schalter": {"3"}}); status != 303 || loc != "/intern/schalter?ok=platz&standort=amt" {
		t.Fatalf("choose desk: %d %q", status, loc)
	}
	if status, loc := post("/intern/schalter/aufrufen", url.Values{"standort": {"amt"}}); status != 303 || loc != "/intern/schalter?nr=A001&ok=aufgerufen&standort=amt" {
		t.Fatalf("call: %d %q", status, loc)
	}
	if status, body := get("/intern/schalter?nr=A001&ok=aufgerufen&standort=amt"); status != 200 || !strings.Contains(body, "A001 ist zu Schalter 3 aufgerufen.") {
		t.Fatalf("after the call: %d\n%s", status, body)
	}
	if status, loc := post("/intern/schalter/wiederholen", url.Values{"standort": {"amt"}, "ticket": {"1"}}); status != 303 || !strings.Contains(loc, "fehler=zustand") {
		t.Fatalf("refused recall: %d %q", status, loc)
	}
	if status, loc := post("/intern/schalter/weiterleiten", url.Values{"standort": {"amt"}, "ticket": {"1"}, "dienst": {"x"}}); status != 303 || !strings.Contains(loc, "fehler=dienst") {
		t.Fatalf("refused transfer: %d %q", status, loc)
	}
	if status, loc := post("/intern/schalter/nicht-erschienen", url.Values{"standort": {"amt"}, "ticket": {"1"}}); status != 303 || !strings.Contains(loc, "ok=nicht-erschienen") {
		t.Fatalf("no-show: %d %q", status, loc)
	}
	desk.empty = true
	if status, loc := post("/intern/schalter/aufrufen", url.Values{"standort": {"amt"}}); status != 303 || !strings.Contains(loc, "fehler=leer") {
		t.Fatalf("empty queue: %d %q", status, loc)
	}
	var actions []string
	for _, e := range log.entries {
		actions = append(actions, e.Action+" "+e.Object)
	}
	if got := strings.Join(actions, ", "); got != "desk.choose desk:3, desk.call ticket:A001, desk.no_show ticket:A001" {
		t.Fatalf("audit: %s", got)
	}

	// The account works at amt: another office is refused, by page and
	// by form, and nothing is called there.
	if status, _ := get("/intern/schalter?standort=amt2"); status != 403 {
		t.Fatalf("another location's page: %d", status)
	}
	desk.empty = false
	if status, _ := post("/intern/schalter/aufrufen", url.Values{"standort": {"amt2"}}); status != 403 || len(desk.calls) != 1 {
		t.Fatalf("a call at another location: %d %v", status, desk.calls)
	}

	// An administrator picks among the offices (not the pool).
	admin := accts.session(t, auth.RoleAdmin)
	res := staffRequest(t, app, "GET", "/intern/schalter", admin, nil)
	b, _ := io.ReadAll(res.Body)
	if body := string(b); res.StatusCode != 200 || !strings.Contains(body, `value="amt2"`) || strings.Contains(body, `value="bad"`) {
		t.Fatalf("the administrator's choice of office: %d\n%s", res.StatusCode, body)
	}
	if res := staffRequest(t, app, "GET", "/intern/schalter?standort=bad", admin, nil); res.StatusCode != 404 {
		t.Fatalf("the pool's desk view: %d", res.StatusCode)
	}
	if res := staffRequest(t, app, "GET", "/intern/schalter", accts.session(t, auth.RolePool), nil); res.StatusCode != 403 {
		t.Fatalf("pool staff at the desk view: %d", res.StatusCode)
	}
}
