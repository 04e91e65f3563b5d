package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/audit"
	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// The administration pages against the real stores: a change made on
// one replica is in effect on another within about a second, and a
// change that conflicts with bookings is refused with the list of them
// or applied once the administrator cancels them (mail and refund).

const adminOffice = "buergeramt-koblenz"

// replicas runs n servers on one PostgreSQL and one Redis, each with its
// catalog watcher.
func replicas(t *testing.T, n int, flags ...string) []*testServer {
	t.Helper()
	rdb := servicetest.Redis(t)
	setup := serverSetup{dbURL: servicetest.DatabaseURL(t, components...), redisAddrs: []string{rdb.Options().Addr},
		pool: "stadtbad", rdb: rdb, flags: append([]string{"-admin-api-key", testAdminKey}, flags...)}
	var out []*testServer
	for i := 0; i < n; i++ {
		s := launch(t, setup)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); watchCatalog(ctx, s.deps) }()
		t.Cleanup(func() { cancel(); <-done })
		out = append(out, s)
	}
	return out
}

// adminSession posts the administration forms as a logged-in
// administrator.
type adminSession struct {
	t *testing.T
	c *staffClient
}

var adminLogins atomic.Int64

func newAdminSession(t *testing.T, s *testServer) *adminSession {
	t.Helper()
	login := fmt.Sprintf("verwaltung%d", adminLogins.Add(1))
	s.staffAccount(t, login, testPassword, auth.RoleAdmin)
	return &adminSession{t: t, c: s.staffLogin(t, login, testPassword)}
}

func (a *adminSession) request(method, path string, form url.Values) (int, string, http.Header) {
	a.t.Helper()
	var p page
	if method == "GET" {
		p = a.c.get(a.t, path)
	} else {
		p = a.c.postRaw(a.t, path, form)
	}
	h := http.Header{}
	h.Set("Location", p.Location)
	return p.Status, p.Body, h
}

var (
	inputRE    = regexp.MustCompile(`<input ([^>]*)>`)
	textareaRE = regexp.MustCompile(`(?s)<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>`)
	selectRE   = regexp.MustCompile(`(?s)<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>`)
	attrRE     = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
	selectedRE = regexp.MustCompile(`<option value="([^"]*)" selected>`)
)

// form reads the fields of the first form with this action on a page, as
// a browser would submit them unchanged.
func (a *adminSession) form(path, action string) url.Values {
	a.t.Helper()
	status, page, _ := a.request("GET", path, nil)
	if status != 200 {
		a.t.Fatalf("GET %s: %d\n%s", path, status, page)
	}
	return formOf(a.t, page, action)
}

func formOf(t *testing.T, page, action string) url.Values {
	t.Helper()
	i := strings.Index(page, `action="`+action+`"`)
	if i < 0 {
		t.Fatalf("no form %s in:\n%s", action, page)
	}
	page = page[i:]
	page = page[:strings.Index(page, "</form>")]
	v := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(page, -1) {
		attrs := map[string]string{}
		for _, am := range attrRE.FindAllStringSubmatch(m[1], -1) {
			attrs[am[1]] = html.UnescapeString(am[2])
		}
		if attrs["name"] == "" {
			continue
		}
		if typ := attrs["type"]; (typ == "checkbox" || typ == "radio") && !strings.Contains(m[1], " checked") {
			continue
		}
		v.Add(attrs["name"], attrs["value"])
	}
	for _, m := range textareaRE.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range selectRE.FindAllStringSubmatch(page, -1) {
		if s := selectedRE.FindStringSubmatch(m[2]); s != nil {
			v.Set(m[1], s[1])
		}
	}
	return v
}

// nextWeekday is the local day of the next given weekday at least 2
// days ahead that is neither a holiday nor closed in the demo city.
func nextWeekday(wd time.Weekday) booking.Date {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	d := booking.DateOf(time.Now().In(berlin)).AddDays(2)
	for {
		_, holiday := booking.HolidayRLP(d)
		if d.Weekday() == wd && !holiday && !(d.Month == 12 && (d.Day == 24 || d.Day == 31)) {
			return d
		}
		d = d.AddDays(1)
	}
}

// officeTimes lists the local start times of a service on a day, as
// the availability API of a replica answers.
func (s *testServer) officeTimes(t *testing.T, service string, d booking.Date) []string {
	t.Helper()
	res := s.do(t, "GET", "/api/v1/availability?location="+adminOffice+"&service="+service+"&from="+d.String()+"&to="+d.String(), "")
	if res.Status != 200 {
		t.Fatalf("availability: %d %s", res.Status, res.Body)
	}
	var av struct{ Slots []booking.Slot }
	res.decode(t, &av)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	out := make([]string, 0, len(av.Slots))
	for _, sl := range av.Slots {
		out = append(out, sl.Start.In(berlin).Format("15:04"))
	}
	return out
}

func lastOf(times []string) string {
	if len(times) == 0 {
		return ""
	}
	return times[len(times)-1]
}

// followsWithin polls until ok holds, and fails after limit.
func followsWithin(t *testing.T, limit time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func TestAdminOpeningHoursFollowOnAnotherReplica(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	monday := nextWeekday(time.Monday)
	before := b.officeTimes(t, "meldebescheinigung", monday)
	if lastOf(before) != "11:50" {
		t.Fatalf("Monday before the change ends at %q, want 11:50", lastOf(before))
	}
	admin := newAdminSession(t, a)
	path := "/intern/verwaltung/standorte/" + adminOffice
	form := admin.form(path, path)
	if form.Get("close_mon_1") != "12:00" || form.Get("csrf") == "" {
		t.Fatalf("location form: %v", form)
	}
	form.Set("close_mon_1", "10:00")
	status, page, hdr := admin.request("POST", path, form)
	if status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", status, page)
	}
	if !strings.Contains(hdr.Get("Location"), "gespeichert=1") {
		t.Fatalf("save went to %s", hdr.Get("Location"))
	}
	took := followsWithin(t, 1500*time.Millisecond, "replica B's availability", func() bool {
		return lastOf(b.officeTimes(t, "meldebescheinigung", monday)) == "09:50"
	})
	t.Logf("replica B follows the change after %v", took)
	if got := lastOf(a.officeTimes(t, "meldebescheinigung", monday)); got != "09:50" {
		t.Fatalf("replica A: Monday ends at %s", got)
	}

	// A new capacity moves the location's days to new hold-store keys on
	// every replica: B offers the added desks and keeps the booked one.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(monday.Year, monday.Month, monday.Day, 9, 0, 0, 0, berlin)
	b.bookAt(t, adminOffice, "meldebescheinigung", start, 1)
	if free := b.officeFreeAt(t, "meldebescheinigung", start); free != 3 {
		t.Fatalf("free desks at 09:00 after one booking: %d, want 3", free)
	}
	form = admin.form(path, path)
	form.Set("capacity", "6")
	if status, page, _ := admin.request("POST", path, form); status != http.StatusSeeOther {
		t.Fatalf("save capacity: %d\n%s", status, page)
	}
	followsWithin(t, 1500*time.Millisecond, "replica B's capacity", func() bool {
		return b.officeFreeAt(t, "meldebescheinigung", start) == 5
	})
}

// officeFreeAt is the number of free desks at one start.
func (s *testServer) officeFreeAt(t *testing.T, service string, start time.Time) int {
	t.Helper()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	d := booking.DateOf(start.In(berlin))
	res := s.do(t, "GET", "/api/v1/availability?location="+adminOffice+"&service="+service+"&from="+d.String()+"&to="+d.String(), "")
	var av struct{ Slots []booking.Slot }
	res.decode(t, &av)
	for _, sl := range av.Slots {
		if sl.Start.Equal(start) {
			return sl.Free
		}
	}
	return -1
}

func TestAdminRefusesReservedIDsAndKeepsEntries(t *testing.T) {
	s := replicas(t, 1)[0]
	admin := newAdminSession(t, s)
	form := admin.form("/intern/verwaltung/standorte/neu", "/intern/verwaltung/standorte/neu")
	form.Set("id", "intern")
	form.Set("name", "Bürgerbüro Nord")
	form.Set("open_tue_1", "8:61")
	status, page, _ := admin.request("POST", "/intern/verwaltung/standorte/neu", form)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("reserved id: %d\n%s", status, page)
	}
	for _, want := range []string{`href="#id"`, "reserviert", `id="id-error"`, `value="Bürgerbüro Nord"`, `href="#open_tue_1"`, `value="8:61"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the refused form lacks %s", want)
		}
	}
	form.Set("id", "buergerbuero-nord")
	form.Set("open_tue_1", "08:00")
	form.Set("close_tue_1", "12:00")
	if status, page, _ := admin.request("POST", "/intern/verwaltung/standorte/neu", form); status != http.StatusSeeOther {
		t.Fatalf("new location: %d\n%s", status, page)
	}
	if _, _, err := s.deps.engine.Location("buergerbuero-nord"); err != nil {
		t.Fatalf("the new location is not served: %v", err)
	}
	// A form post without its CSRF token is refused.
	form.Del("csrf")
	if status, _, _ := admin.request("POST", "/intern/verwaltung/standorte/buergerbuero-nord", form); status != http.StatusForbidden {
		t.Fatalf("post without CSRF token: %d, want 403", status)
	}
}

func TestAdminConflictsAreListedThenCancelledWithMailAndRefund(t *testing.T) {
	flags, mp := mailFlags(t)
	// A free cancellation period longer than the time left: the office's
	// cancellation refunds all the same.
	s := startPayServer(t, payOptions{platform: "epay21", args: append(flags, "-free-cancel-before", "720h")})
	in := newInbox(t, s.deps, mp)
	admin := newAdminSession(t, s.testServer)

	// A counter booking at the office and a paid ticket at the pool.
	monday := nextWeekday(time.Monday)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(monday.Year, monday.Month, monday.Day, 11, 0, 0, 0, berlin)
	addr := uniqueAddress("storniert")
	id := s.mustHold(t, adminOffice, "meldebescheinigung", start.UTC().Format(time.RFC3339), 1)
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+id+`","name":"Erika Mustermann","email":"`+addr+`"}`)
	if res.Status != 201 {
		t.Fatalf("book: %d %s", res.Status, res.Body)
	}
	var office struct{ Code string }
	res.decode(t, &office)

	path := "/intern/verwaltung/standorte/" + adminOffice
	form := admin.form(path, path)
	form.Set("closures", form.Get("closures")+"\n"+monday.String()+" Betriebsausflug")
	status, page, _ := admin.request("POST", path, form)
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, office.Code) || !strings.Contains(page, `href="#cancel_conflicts"`) {
		t.Fatalf("closing a day with a booking: %d\n%s", status, page)
	}
	if times := s.officeTimes(t, "meldebescheinigung", monday); len(times) == 0 {
		t.Fatal("the refused closure was applied")
	}
	conflict := formOf(t, page, path)
	if got := conflict["cancel_id"]; len(got) != 1 {
		t.Fatalf("conflict form carries %v", got)
	}
	conflict.Set("cancel_conflicts", "1")
	if status, page, _ := admin.request("POST", path, conflict); status != http.StatusUnprocessableEntity || !strings.Contains(page, `id="cancel_reason-error"`) {
		t.Fatalf("cancelling without a reason: %d\n%s", status, page)
	}
	conflict.Set("cancel_reason", "Betriebsausflug des Bürgeramts")
	status, page, hdr := admin.request("POST", path, conflict)
	if status != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "storniert=1") {
		t.Fatalf("cancel and apply: %d %s\n%s", status, hdr.Get("Location"), page)
	}
	if times := s.officeTimes(t, "meldebescheinigung", monday); len(times) != 0 {
		t.Fatalf("the closed day still offers %v", times)
	}
	if n := s.count(t, `SELECT count(*) FROM bookings WHERE code = $1 AND status = 'cancelled' AND cancel_reason = $2`,
		office.Code, "Betriebsausflug des Bürgeramts"); n != 1 {
		t.Fatalf("booking %s not cancelled with its reason", office.Code)
	}
	if in != nil {
		if m := in.wait(t, addr, "Termin storniert"); !strings.Contains(m.Text, "Grund: Betriebsausflug des Bürgeramts") {
			t.Fatalf("the cancellation mail does not give the office's reason:\n%s", m.Text)
		}
	}

	// The pool: a paid ticket, then a capacity cut below its unit.
	slot := s.poolSlot(t)
	paid := s.book(t, slot, 1)
	s.pay(t, paid.Payment.Reference, true)
	servicetest.Eventually(t, "the ticket is paid", 10*time.Second, func() bool {
		s.sweep(t)()
		return s.bookingStatus(t, paid) == booking.StatusConfirmed
	})
	poolPath := "/intern/verwaltung/standorte/stadtbad"
	form = admin.form(poolPath, poolPath)
	startPaid := mustTime(t, slot)
	form.Set("closures", booking.DateOf(startPaid.In(berlin)).String()+" Wartung")
	status, page, _ = admin.request("POST", poolPath, form)
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, paid.Code) {
		t.Fatalf("closing the pool's day: %d\n%s", status, page)
	}
	conflict = formOf(t, page, poolPath)
	conflict.Set("cancel_conflicts", "1")
	conflict.Set("cancel_reason", "Wartung")
	if status, page, _ := admin.request("POST", poolPath, conflict); status != http.StatusSeeOther {
		t.Fatalf("cancel paid ticket: %d\n%s", status, page)
	}
	if st := s.bookingStatus(t, paid); st != booking.StatusCancelled {
		t.Fatalf("paid ticket after the closure: %s", st)
	}
	if n := s.count(t, `SELECT count(*) FROM payment_outbox o JOIN payments p ON p.id = o.payment_id
		WHERE p.reference = $1 AND o.kind = 'refund' AND o.amount_cents = 450`, paid.Payment.Reference); n != 1 {
		t.Fatalf("refund jobs of the paid ticket: %d, want 1", n)
	}
	// epay21 has no refund call: the refund lands on finance's work list.
	servicetest.Eventually(t, "the refund is on the work list", 10*time.Second, func() bool {
		s.work(t)
		res := s.do(t, "GET", "/api/v1/finance/refunds?state=all", "", "Authorization", "Bearer "+testAdminKey)
		var list struct {
			Refunds []struct {
				AmountCents int64  `json:"amount_cents"`
				BookingCode string `json:"booking_code"`
				Reason      string
			}
		}
		res.decode(t, &list)
		for _, r := range list.Refunds {
			if r.BookingCode == paid.Code && r.AmountCents == 450 && r.Reason == "booking cancelled by the office" {
				return true
			}
		}
		return false
	})
}

// uploadCity posts a city file through the upload field (multipart), as
// the browser does.
func (a *adminSession) uploadCity(file []byte) page {
	a.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", a.c.csrf(a.t))
	part, err := w.CreateFormFile("file", "democity.json")
	if err != nil {
		a.t.Fatal(err)
	}
	part.Write(file)
	w.Close()
	req, err := http.NewRequest("POST", a.c.s.URL+"/intern/verwaltung/stadtdatei", &body)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return a.c.send(a.t, req)
}

func TestAdminCityFileExportAndImport(t *testing.T) {
	s := replicas(t, 1)[0]
	admin := newAdminSession(t, s)
	status, exported, _ := admin.request("GET", "/intern/verwaltung/stadtdatei.json", nil)
	if status != 200 || !strings.Contains(exported, `"id": "buergeramt-koblenz"`) {
		t.Fatalf("export: %d %s", status, exported)
	}
	// The same file through the API, for scripts with an admin token.
	if res := s.do(t, "GET", "/api/v1/admin/city", "", "Authorization", "Bearer "+testAdminKey); res.Status != 200 || string(res.Body) != exported {
		t.Fatalf("API export: %d, differs from the page's: %v", res.Status, string(res.Body) != exported)
	}
	locs, services, err := booking.ParseCity(strings.NewReader(exported))
	if err != nil || len(locs) != 2 || len(services) != 6 {
		t.Fatalf("the export does not read back: %v (%d locations, %d services)", err, len(locs), len(services))
	}
	// The same file back changes nothing and conflicts with nothing.
	if p := admin.uploadCity([]byte(exported)); p.Status != http.StatusSeeOther {
		t.Fatalf("import of the export: %d\n%s", p.Status, p.Body)
	}
	// A broken file and a reserved id are refused with the reason.
	for _, bad := range []string{`{"locations": [`, strings.Replace(exported, `"id": "stadtbad"`, `"id": "termin"`, 1)} {
		p := admin.uploadCity([]byte(bad))
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `href="#file"`) {
			t.Fatalf("bad city file: %d\n%s", p.Status, p.Body)
		}
	}
	// A file that removes a service with a booking lists the booking;
	// the conflict form carries the file and cancels on confirmation.
	monday := nextWeekday(time.Monday)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	code, _ := s.bookAt(t, adminOffice, "reisepass", time.Date(monday.Year, monday.Month, monday.Day, 10, 0, 0, 0, berlin), 1)
	var f struct {
		Locations []map[string]any `json:"locations"`
	}
	if err := json.Unmarshal([]byte(exported), &f); err != nil {
		t.Fatal(err)
	}
	svcs := f.Locations[0]["services"].([]any)
	var kept []any
	for _, sv := range svcs {
		if sv.(map[string]any)["id"] != "reisepass" {
			kept = append(kept, sv)
		}
	}
	f.Locations[0]["services"] = kept
	changed, _ := json.Marshal(f)
	p := admin.uploadCity(changed)
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, code) {
		t.Fatalf("import removing a booked service: %d\n%s", p.Status, p.Body)
	}
	if _, err := s.deps.engine.Service(adminOffice, "reisepass"); err != nil {
		t.Fatal("the refused import was applied")
	}
	conflict := formOf(t, p.Body, "/intern/verwaltung/stadtdatei")
	conflict.Set("cancel_conflicts", "1")
	conflict.Set("cancel_reason", "Reisepässe künftig im Bürgerbüro")
	if p := admin.c.postRaw(t, "/intern/verwaltung/stadtdatei", conflict); p.Status != http.StatusSeeOther {
		t.Fatalf("confirmed import: %d\n%s", p.Status, p.Body)
	}
	if _, err := s.deps.engine.Service(adminOffice, "reisepass"); err == nil {
		t.Fatal("reisepass is still offered")
	}
	entries, err := s.deps.audit.List(context.Background(), audit.Filter{Action: "city.", Limit: 10})
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit entries of the imports: %v %v", entries, err)
	}
	cancels, err := s.deps.audit.List(context.Background(), audit.Filter{Action: "booking.cancel_by_office", Limit: 10})
	if err != nil || len(cancels) != 1 || !strings.Contains(cancels[0].Detail, code) {
		t.Fatalf("audit entries of the cancellation: %v %v", cancels, err)
	}
}

func TestAdminServiceRemovalAndAccounting(t *testing.T) {
	s := replicas(t, 1)[0]
	admin := newAdminSession(t, s)
	path := "/intern/verwaltung/dienste/meldebescheinigung"
	form := admin.form(path, path)
	if form.Get("sachkonto") != "4311000" || form.Get("fee") != "5,00" {
		t.Fatalf("service form: %v", form)
	}
	form.Set("fee", "6,50")
	form.Set("kostenstelle", "122099")
	form.Set("duration_minutes", "7")
	if status, page, _ := admin.request("POST", path, form); status != http.StatusUnprocessableEntity || !strings.Contains(page, `id="duration_minutes-error"`) {
		t.Fatalf("duration off the grid: %d", status)
	}
	form.Set("duration_minutes", "10")
	if status, page, _ := admin.request("POST", path, form); status != http.StatusSeeOther {
		t.Fatalf("save service: %d\n%s", status, page)
	}
	if sv, _ := s.deps.engine.Service(adminOffice, "meldebescheinigung"); sv == nil || sv.FeeCents != 650 {
		t.Fatalf("fee after the change: %+v", sv)
	}
	if acc, err := s.deps.pay.store.Accounting(context.Background(), "meldebescheinigung"); err != nil || acc.Kostenstelle != "122099" || acc.Sachkonto != "4311000" {
		t.Fatalf("accounting after the change: %+v %v", acc, err)
	}

	monday := nextWeekday(time.Monday)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	code, _ := s.bookAt(t, adminOffice, "meldebescheinigung", time.Date(monday.Year, monday.Month, monday.Day, 8, 30, 0, 0, berlin), 1)
	remove := admin.form(path, path+"/entfernen")
	status, page, _ := admin.request("POST", path+"/entfernen", remove)
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, code) {
		t.Fatalf("removing a booked service: %d\n%s", status, page)
	}
	remove = formOf(t, page, path+"/entfernen")
	remove.Set("cancel_conflicts", "1")
	remove.Set("cancel_reason", "Leistung entfällt")
	if status, page, hdr := admin.request("POST", path+"/entfernen", remove); status != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "storniert=1") {
		t.Fatalf("remove with cancellation: %d %s\n%s", status, hdr.Get("Location"), page)
	}
	if _, err := s.deps.engine.Service(adminOffice, "meldebescheinigung"); err == nil {
		t.Fatal("the removed service is still offered")
	}
}

func TestAdminDeviceEnrolAndRevoke(t *testing.T) {
	s := replicas(t, 1)[0]
	admin := newAdminSession(t, s)
	form := admin.form("/intern/verwaltung/geraete", "/intern/verwaltung/geraete")
	form.Set("name", "Kiosk Eingang")
	form.Set("location", adminOffice)
	status, page, _ := admin.request("POST", "/intern/verwaltung/geraete", form)
	m := regexp.MustCompile(`<p class="big code">([A-Z0-9-]{14})</p>`).FindStringSubmatch(page)
	if status != http.StatusCreated || m == nil {
		t.Fatalf("enrol: %d\n%s", status, page)
	}
	res := s.do(t, "POST", "/api/v1/devices/enroll", `{"code":"`+m[1]+`"}`)
	if res.Status != 201 {
		t.Fatalf("enroll with the shown code: %d %s", res.Status, res.Body)
	}
	var en struct {
		Token  string
		Device struct{ ID string }
	}
	res.decode(t, &en)
	if r := s.do(t, "GET", "/api/v1/kiosk/config", "", "Authorization", "Bearer "+en.Token); r.Status != 200 {
		t.Fatalf("device config before the revocation: %d", r.Status)
	}
	_, list, _ := admin.request("GET", "/intern/verwaltung/geraete", nil)
	if strings.Contains(list, m[1]) {
		t.Fatal("the enrolment code is shown again")
	}
	id := regexp.MustCompile(`action="/intern/verwaltung/geraete/(dev-[A-Z0-9]+)/sperren"`).FindStringSubmatch(list)
	if id == nil {
		t.Fatalf("no revoke button:\n%s", list)
	}
	revoke := formOf(t, list, "/intern/verwaltung/geraete/"+id[1]+"/sperren")
	if status, _, _ := admin.request("POST", "/intern/verwaltung/geraete/"+id[1]+"/sperren", revoke); status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", status)
	}
	if r := s.do(t, "GET", "/api/v1/kiosk/config", "", "Authorization", "Bearer "+en.Token); r.Status != 401 {
		t.Fatalf("device config after the revocation: %d", r.Status)
	}
}

// A booking made on a replica that had not reloaded a change yet lies
// outside the rules in force: the location page lists it to cancel.
func TestAdminListsBookingsOutsideTheRulesInForce(t *testing.T) {
	s := replicas(t, 1)[0]
	admin := newAdminSession(t, s)
	monday := nextWeekday(time.Monday)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	code, _ := s.bookAt(t, adminOffice, "meldebescheinigung", time.Date(monday.Year, monday.Month, monday.Day, 11, 30, 0, 0, berlin), 1)
	// The change as another replica saved it, past this one's checks.
	l, _, err := s.deps.engine.Location(adminOffice)
	if err != nil {
		t.Fatal(err)
	}
	closed := *l
	closed.Closures = append(append([]booking.Closure{}, l.Closures...), booking.Closure{Day: monday, Reason: "Umzug"})
	services, _ := s.deps.engine.Services(adminOffice)
	if err := s.deps.pg.SaveCatalog(context.Background(), []booking.Location{closed}, services); err != nil {
		t.Fatal(err)
	}
	if err := s.deps.engine.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := "/intern/verwaltung/standorte/" + adminOffice
	status, page, _ := admin.request("GET", path, nil)
	if status != 200 || !strings.Contains(page, code) || !strings.Contains(page, "außerhalb der geltenden Regeln") {
		t.Fatalf("location page: %d\n%s", status, page)
	}
	form := formOf(t, page, path)
	form.Set("cancel_conflicts", "1")
	form.Set("cancel_reason", "Umzug")
	if status, page, hdr := admin.request("POST", path, form); status != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "storniert=1") {
		t.Fatalf("cancel from the page: %d %s\n%s", status, hdr.Get("Location"), page)
	}
}
