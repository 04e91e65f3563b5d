package main

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/digitale-verwaltung/termin/server/auth"
)

// The authorization table: every staff route (the pages under /intern and
// the staff, admin and finance API) with who may use it. A route the
// server has and this table lacks fails TestStaffAuthorization; docs/staff.md
// shows the same table (run `go test ./server -run TestStaffAuthorization
// -staff.update-doc` after changing it).

// access is who may use a route.
type access struct {
	public bool        // without a login (the login page)
	staff  bool        // any logged-in member of staff
	roles  []auth.Role // holders of one of these (a desk lead holds desk)
}

var (
	public   = access{public: true}
	anyStaff = access{staff: true}
)

func roles(r ...auth.Role) access { return access{roles: r} }

// staffRule is one row of the table.
type staffRule struct {
	Method, Path string
	Who          access
}

// staffRouteRules: add a row here for every new staff route (pages under
// /intern, API routes under /api/v1/staff, /api/v1/admin, /api/v1/finance).
var staffRouteRules = []staffRule{
	// accounts (docs/staff.md "Accounts and roles")
	{"GET", "/intern/anmelden", public},
	{"POST", "/intern/anmelden", public},
	{"POST", "/intern/abmelden", anyStaff},
	{"GET", "/intern", anyStaff},
	{"GET", "/intern/konto", anyStaff},
	{"POST", "/intern/konto/passwort", anyStaff},
	{"POST", "/intern/konto/tokens", anyStaff},
	{"POST", "/intern/konto/tokens/:id/widerrufen", anyStaff},
	{"GET", "/intern/verwaltung/konten", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/konten", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/konten/:id", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/konten/:id", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/konten/:id/sperren", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/konten/:id/freigeben", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/konten/:id/passwort", roles(auth.RoleAdmin)},
	{"GET", "/intern/protokoll", roles(auth.RoleAdmin)},

	// desk (docs/staff.md "Desk and call display")
	{"GET", "/intern/schalter", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/intern/schalter/platz", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/intern/schalter/aufrufen", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/intern/schalter/wiederholen", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/intern/schalter/erledigt", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/intern/schalter/nicht-erschienen", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/intern/schalter/weiterleiten", roles(auth.RoleDesk, auth.RoleAdmin)},
	// administration (docs/staff.md "Administration")
	{"GET", "/intern/verwaltung", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/standorte", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/standorte/neu", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/standorte/neu", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/standorte/:id", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/standorte/:id", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/dienste", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/dienste/neu", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/dienste/neu", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/dienste/:id", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/dienste/:id", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/dienste/:id/entfernen", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/tickets", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/tickets/neu", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/tickets/neu", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/tickets/:id", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/tickets/:id", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/tickets/:id/entfernen", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/geraete", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/geraete", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/geraete/:id/sperren", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/stadtdatei", roles(auth.RoleAdmin)},
	{"GET", "/intern/verwaltung/stadtdatei.json", roles(auth.RoleAdmin)},
	{"POST", "/intern/verwaltung/stadtdatei", roles(auth.RoleAdmin)},

	// finance pages (docs/staff.md "Finance pages")
	{"GET", "/intern/kasse", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/zahlungen", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/zahlungen.csv", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/zahlungen/:reference", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/buchungen", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/buchungen.csv", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/termine/:code", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/exporte", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/exporte/:name", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/abgleich", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"POST", "/intern/kasse/abgleich", roles(auth.RoleFinance)},
	{"GET", "/intern/kasse/abgleich/:id", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/abgleich/:id/csv", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/intern/kasse/erstattungen", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"POST", "/intern/kasse/erstattungen/:id/erledigt", roles(auth.RoleFinance)},
	{"GET", "/intern/kasse/fehler", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"POST", "/intern/kasse/fehler/:id/wiederholen", roles(auth.RoleFinance)},

	// statistics (docs/staff.md "Statistics")
	{"GET", "/intern/statistik", roles(auth.RoleAdmin, auth.RoleDeskLead)},
	{"GET", "/intern/statistik/tage.csv", roles(auth.RoleAdmin, auth.RoleDeskLead)},
	{"GET", "/intern/statistik/stunden.csv", roles(auth.RoleAdmin, auth.RoleDeskLead)},
	{"GET", "/intern/statistik/belegung", roles(auth.RoleAdmin, auth.RoleDeskLead)},
	{"GET", "/intern/statistik/belegung.csv", roles(auth.RoleAdmin, auth.RoleDeskLead)},
	{"GET", "/intern/statistik/morgen", roles(auth.RoleAdmin, auth.RoleDeskLead)},
	{"GET", "/intern/statistik/morgen.csv", roles(auth.RoleAdmin, auth.RoleDeskLead)},

	// staff API (server/staff)
	{"GET", "/api/v1/staff/locations/:id/queue", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/api/v1/staff/locations/:id/call", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/api/v1/staff/locations/:id/tickets/:ticket/finish", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/api/v1/staff/locations/:id/tickets/:ticket/recall", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/api/v1/staff/locations/:id/tickets/:ticket/transfer", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"GET", "/api/v1/staff/locations/:id/flagged-admissions", roles(auth.RoleDesk, auth.RoleAdmin)},
	{"POST", "/api/v1/admin/devices", roles(auth.RoleAdmin)},
	{"GET", "/api/v1/admin/devices", roles(auth.RoleAdmin)},
	{"GET", "/api/v1/admin/ticket-preview.png", roles(auth.RoleAdmin)},
	{"GET", "/api/v1/admin/city", roles(auth.RoleAdmin)},
	{"POST", "/api/v1/admin/accounts", roles(auth.RoleAdmin)},

	// finance API (server/finance)
	{"GET", "/api/v1/finance/postings", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/api/v1/finance/payments", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/api/v1/finance/exports", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/api/v1/finance/exports/:name", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"POST", "/api/v1/finance/reconciliations", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/api/v1/finance/reconciliations/:id", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/api/v1/finance/reconciliations/:id/csv", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/api/v1/finance/dead-letters", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"GET", "/api/v1/finance/refunds", roles(auth.RoleFinance, auth.RoleAdmin)},
	{"POST", "/api/v1/finance/refunds/:id/done", roles(auth.RoleFinance)},
}

var updateStaffDoc = flag.Bool("staff.update-doc", false, "rewrite the authorization table in docs/staff.md from staffRouteRules")

// staffRoutePrefixes are the paths the table must cover.
var staffRoutePrefixes = []string{"/intern", "/api/v1/staff/", "/api/v1/admin/", "/api/v1/finance/"}

func isStaffRoute(path string) bool {
	return slices.ContainsFunc(staffRoutePrefixes, func(p string) bool {
		return path == p || strings.HasPrefix(path, p) && (strings.HasSuffix(p, "/") || strings.HasPrefix(path, p+"/"))
	})
}

// principal is who sends a request in the table test: nobody (no login)
// or an account with one role.
type principal struct {
	name string
	role auth.Role // "" for no login
}

var principals = []principal{{"no login", ""}, {"desk", auth.RoleDesk}, {"desk_lead", auth.RoleDeskLead},
	{"pool", auth.RolePool}, {"finance", auth.RoleFinance}, {"admin", auth.RoleAdmin}}

func (a access) allows(p principal) bool {
	switch {
	case a.public:
		return true
	case p.role == "":
		return false
	case a.staff:
		return true
	}
	return (&auth.Staff{Roles: []auth.Role{p.role}}).HasAny(a.roles...)
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "–"
}

// staffRoutesMarkdown renders the table as docs/staff.md shows it.
func staffRoutesMarkdown() string {
	var b strings.Builder
	b.WriteString("| method | path |")
	for _, p := range principals {
		fmt.Fprintf(&b, " %s |", p.name)
	}
	b.WriteString("\n|---|---|")
	for range principals {
		b.WriteString(":-:|")
	}
	b.WriteString("\n")
	for _, r := range staffRouteRules {
		fmt.Fprintf(&b, "| %s | `%s` |", r.Method, r.Path)
		for _, p := range principals {
			fmt.Fprintf(&b, " %s |", mark(r.Who.allows(p)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

const (
	tableBegin = "<!-- staff-routes:begin (generated by TestStaffAuthorization -staff.update-doc) -->\n"
	tableEnd   = "<!-- staff-routes:end -->"
)

// checkStaffDoc compares (or, with -staff.update-doc, rewrites) the table
// in docs/staff.md.
func checkStaffDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "staff.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(doc, []byte(tableBegin)), bytes.Index(doc, []byte(tableEnd))
	if i < 0 || j < i {
		t.Fatalf("docs/staff.md has no authorization table between %q and %q", strings.TrimSpace(tableBegin), tableEnd)
	}
	want := staffRoutesMarkdown()
	if got := string(doc[i+len(tableBegin) : j]); got != want {
		if !*updateStaffDoc {
			t.Fatalf("the authorization table in docs/staff.md differs from staffRouteRules (server/staff_routes_test.go); " +
				"run go test ./server -run TestStaffAuthorization -staff.update-doc")
		}
		out := append(append(append([]byte{}, doc[:i+len(tableBegin)]...), want...), doc[j:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// samplePath fills a route's parameters.
func samplePath(path string, accountID int64) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		switch {
		case p == ":id" && strings.HasPrefix(path, "/intern/verwaltung/konten/"):
			parts[i] = fmt.Sprint(accountID)
		case p == ":id" && strings.Contains(path, "/tokens/"):
			parts[i] = "999999" // not the principals' own tokens
		case p == ":location" || p == ":id" && strings.HasPrefix(path, "/api/v1/staff/locations/"):
			parts[i] = "buergeramt-koblenz"
		case p == ":name":
			parts[i] = "postings.csv"
		case strings.HasPrefix(p, ":"):
			parts[i] = "1"
		case p == "*":
			parts[i] = "x"
		}
	}
	return strings.Join(parts, "/")
}

func TestStaffAuthorization(t *testing.T) {
	s := startServer(t)
	checkStaffDoc(t)

	// Every route of the server under the staff prefixes is in the table,
	// and every row of the table is a route.
	have := map[string]bool{}
	for _, r := range s.app.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == http.MethodOptions || r.Method == "CONNECT" || r.Method == "TRACE" || !isStaffRoute(r.Path) {
			continue
		}
		have[r.Method+" "+r.Path] = true
	}
	listed := map[string]bool{}
	for _, r := range staffRouteRules {
		key := r.Method + " " + r.Path
		if listed[key] {
			t.Errorf("%s is twice in staffRouteRules", key)
		}
		listed[key] = true
		if !have[key] {
			t.Errorf("staffRouteRules lists %s, which the server does not have", key)
		}
	}
	for key := range have {
		if !listed[key] {
			t.Errorf("route %s is missing from the authorization table: add a row to staffRouteRules in server/staff_routes_test.go "+
				"and run go test ./server -run TestStaffAuthorization -staff.update-doc to update docs/staff.md", key)
		}
	}

	// A victim of the account administration's routes.
	victim := s.staffAccount(t, "zielkonto", testPassword, auth.RolePool)
	clients := map[auth.Role]*staffClient{}
	tokens := map[auth.Role]string{}
	for _, p := range principals {
		if p.role == "" {
			continue
		}
		login := "rolle." + strings.ReplaceAll(string(p.role), "_", "-")
		a := s.staffAccount(t, login, testPassword, p.role)
		clients[p.role] = s.staffLogin(t, login, testPassword)
		tokens[p.role] = s.staffToken(t, a.ID)
	}
	for _, r := range staffRouteRules {
		path := samplePath(r.Path, victim.ID)
		for _, p := range principals {
			want := r.Who.allows(p)
			var got bool
			var status int
			if strings.HasPrefix(r.Path, "/intern") {
				c := clients[p.role]
				if c == nil {
					c = s.staffClient(t)
				}
				var pg page
				if r.Method == "GET" {
					pg = c.get(t, path)
				} else {
					pg = c.post(t, path, url.Values{})
				}
				status = pg.Status
				got = !(pg.Status == http.StatusForbidden || pg.Status == http.StatusSeeOther && strings.HasPrefix(pg.Location, "/intern/anmelden?weiter="))
				if p.role != "" && c.get(t, "/intern").Status == http.StatusSeeOther {
					// The route ended the session (logout): log in again.
					clients[p.role] = s.staffLogin(t, "rolle."+strings.ReplaceAll(string(p.role), "_", "-"), testPassword)
				}
			} else {
				req, err := http.NewRequest(r.Method, s.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if p.role != "" {
					req.Header.Set("Authorization", "Bearer "+tokens[p.role])
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				status = res.StatusCode
				got = res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusForbidden
			}
			if got != want {
				t.Errorf("%s %s as %s: status %d, allowed %v, the table says %v", r.Method, path, p.name, status, got, want)
			}
		}
	}
}
