package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/digitale-verwaltung/termin/audit"
	"github.com/digitale-verwaltung/termin/internal/browsertest"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// savedSimFile saves one of the payment simulator's files (settlement
// report, camt.053) for the browser to upload.
func (s *payServer) savedSimFile(t *testing.T, path, name string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, s.simFile(t, path), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// seedStatistics writes four weeks of appointments and queue tickets of
// the Bürgeramt and tomorrow's appointments straight into the tables, so
// the statistics pages have something to show.
func (s *payServer) seedStatistics(t *testing.T) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO bookings (code, hold_id, manage_token_hash, location_id, service_id, start_at, end_at, unit_indexes,
			name, email, status, calendar_uid)
		SELECT 'ST' || n, 'ST' || n, '\x00', 'buergeramt-koblenz', 'personalausweis', t, t + interval '20 minutes', ARRAY[0], 'N', 'n@example.org',
			CASE WHEN n % 9 = 0 THEN 'cancelled' ELSE 'confirmed' END, 'ST' || n || '@termin'
		FROM (SELECT t, row_number() OVER (ORDER BY t) AS n FROM generate_series(
			date_trunc('day', now() AT TIME ZONE 'Europe/Berlin') - interval '28 days' + interval '8 hours',
			date_trunc('day', now() AT TIME ZONE 'Europe/Berlin') + interval '1 day 15 hours', interval '20 minutes') AS l(lt),
			LATERAL (SELECT lt AT TIME ZONE 'Europe/Berlin' AS t) x
			WHERE extract(hour FROM lt) BETWEEN 8 AND 15 AND extract(isodow FROM lt) < 6 AND (extract(minute FROM lt)::int / 20 + extract(hour FROM lt)::int) % 3 <> 0) y`,
		// A check-in for most past appointments: called after a wait
		// that grows towards noon, served in 10 to 20 minutes; some never
		// came.
		`INSERT INTO queue_tickets (location_id, day, number, service_id, booking_id, state, created_at, called_at, finished_at)
		SELECT location_id, (start_at AT TIME ZONE 'Europe/Berlin')::date, 'A' || id, service_id, id,
			CASE WHEN id % 11 = 0 THEN 'no_show' ELSE 'served' END, start_at - interval '5 minutes',
			start_at + (id % 7 + extract(hour FROM start_at AT TIME ZONE 'Europe/Berlin')::int % 4 * 3) * interval '1 minute',
			start_at + (id % 7 + 10 + id % 10) * interval '1 minute'
		FROM bookings WHERE location_id = 'buergeramt-koblenz' AND status = 'confirmed' AND start_at < now() AND id % 13 <> 0`,
		// Walk-ins, more in the morning.
		`INSERT INTO queue_tickets (location_id, day, number, service_id, state, created_at, called_at, finished_at)
		SELECT 'buergeramt-koblenz', (t AT TIME ZONE 'Europe/Berlin')::date, 'W' || row_number() OVER (), 'meldebescheinigung', 'served',
			t, t + interval '18 minutes', t + interval '28 minutes'
		FROM generate_series(date_trunc('day', now() AT TIME ZONE 'Europe/Berlin') - interval '28 days' + interval '8 hours',
			date_trunc('day', now() AT TIME ZONE 'Europe/Berlin') - interval '1 day' + interval '15 hours', interval '12 minutes') AS l(lt),
			LATERAL (SELECT lt AT TIME ZONE 'Europe/Berlin' AS t) x
		WHERE extract(hour FROM lt) BETWEEN 8 AND 15 AND extract(isodow FROM lt) < 6
			AND extract(minute FROM lt)::int < 60 - extract(hour FROM lt)::int * 3`,
	} {
		if _, err := s.deps.db.Exec(q); err != nil {
			t.Fatalf("seed statistics: %v\n%s", err, q)
		}
	}
}

// A finance user uploads the simulator's settlement report and camt.053
// and sees everything matched, looks at payments and postings, and
// retries a dead letter; an administrator looks at the statistics. Every
// page passes axe-core in German and English.
func TestFinancePagesInBrowser(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{Width: 1280, Height: 900})
	tr := &treasury{failNext: 1, got: map[string]int{}}
	srv := httptest.NewServer(tr)
	defer srv.Close()
	s := startPayServer(t, payOptions{platform: "epay21", args: []string{"-treasury-url", srv.URL, "-treasury-max-attempts", "1"}})
	start := s.poolSlot(t)
	var refs []string
	var booked []pendingBooking
	for _, n := range []int{1, 2} {
		bk := s.book(t, start, n)
		s.pay(t, bk.Payment.Reference, true)
		refs = append(refs, bk.Payment.Reference)
		booked = append(booked, bk)
	}
	// The first delivery to the treasury fails and, with one attempt
	// allowed, becomes a dead letter.
	servicetest := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
			s.work(t)
			time.Sleep(50 * time.Millisecond)
		}
	}
	servicetest("no dead letter", func() bool {
		return s.count(t, `SELECT count(*) FROM payment_outbox WHERE state = 'dead'`) == 1
	})
	s.staffAccount(t, "kasse", testPassword, auth.RoleFinance)
	s.staffAccount(t, "verwaltung", testPassword, auth.RoleAdmin)
	s.seedStatistics(t)

	berlin, _ := time.LoadLocation("Europe/Berlin")
	today := time.Now().In(berlin)
	settle := s.savedSimFile(t, "/sim/settlement?date="+today.Format(time.DateOnly), "abrechnung.csv")
	camt := s.savedSimFile(t, "/sim/camt053?date="+today.AddDate(0, 0, 1).Format(time.DateOnly), "kontoauszug.xml")

	for _, lang := range []string{"de", "en"} {
		t.Run(lang, func(t *testing.T) {
			st := newStaffTab(t, b, s.URL, lang)
			st.do(loginBrowser(s.URL, "kasse", testPassword)...)
			st.open("/intern/kasse", "staff_finance")
			st.check("finance", "")

			// The reconciliation: both files of the simulator, everything matched.
			st.open("/intern/kasse/abgleich", "staff_finance_reconciliations")
			st.check("reconciliations", "")
			st.do(chromedp.Click(chromedp.CSS(`form[enctype] button[type=submit]`)), chromedp.WaitReady(chromedp.CSS(`#settlement-error`)))
			st.check("reconciliation-errors", "")
			st.do(chromedp.SetUploadFiles(chromedp.CSS(`#settlement`), []string{settle}), chromedp.SetUploadFiles(chromedp.CSS(`#camt053`), []string{camt}),
				chromedp.Click(chromedp.CSS(`form[enctype] button[type=submit]`)), chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_finance_run"]`)))
			main := st.text("main")
			if lang == "de" {
				if got := st.text(`.notice-ok`); !strings.Contains(got, "Alles stimmt überein") {
					t.Fatalf("run: %s\n%s", got, main)
				}
			} else if !strings.Contains(main, "Statement reconciled before") || strings.Contains(main, "differences to resolve") {
				// The second upload of the same statement: everything
				// matches again, and the page says it was reconciled before.
				t.Fatalf("second run:\n%s", main)
			}
			for _, ref := range refs {
				if !strings.Contains(main, ref) {
					t.Fatalf("run lacks payment %s:\n%s", ref, main)
				}
			}
			st.check("reconciliation", "finance-reconciliation")
			// From the run to the payment and on to its booking.
			st.do(chromedp.Click(chromedp.CSS(`a[href="/intern/kasse/zahlungen/`+refs[1]+`"]`)), chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_finance_payment"]`)))
			st.check("payment", "")
			st.do(chromedp.Click(chromedp.CSS(`a[href^="/intern/kasse/termine/"]`)), chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_finance_booking"]`)))
			st.check("booking", "")

			st.open("/intern/kasse/zahlungen?standort=stadtbad&status=confirmed", "staff_finance_payments")
			if main := st.text("main"); !strings.Contains(main, refs[0]) || !strings.Contains(main, refs[1]) {
				t.Fatalf("payments:\n%s", main)
			}
			st.check("payments", "finance-payments")
			st.open("/intern/kasse/buchungen", "staff_finance_postings")
			st.check("postings", "")
			st.open("/intern/kasse/exporte", "staff_finance_exports")
			if main := st.text("main"); !strings.Contains(main, "termin-buchungen-"+today.Format(time.DateOnly)+".csv") {
				t.Fatalf("exports:\n%s", main)
			}
			st.check("exports", "")

			st.open("/intern/kasse/fehler", "staff_finance_deadletters")
			if lang == "de" {
				// The retry: pending again, delivered by the next run, audited.
				st.check("dead letters", "")
				st.do(chromedp.Click(chromedp.CSS(`form[action$="/wiederholen"] button`)), chromedp.WaitReady(chromedp.CSS(`.notice-ok`)))
				st.check("dead letter retried", "")
				if n := s.count(t, `SELECT count(*) FROM payment_outbox WHERE state = 'dead'`); n != 0 {
					t.Fatalf("%d dead letters after the retry", n)
				}
				servicetest("retried posting not delivered", func() bool {
					return s.count(t, `SELECT count(*) FROM payment_outbox WHERE kind = 'posting_http' AND state = 'done'`) == 2
				})
				entries, err := s.deps.audit.List(context.Background(), audit.Filter{Action: "finance."})
				if err != nil {
					t.Fatal(err)
				}
				var actions []string
				for _, e := range entries {
					actions = append(actions, e.Action+" "+e.Login)
				}
				if !strings.Contains(strings.Join(actions, ","), "finance.retry kasse") || !strings.Contains(strings.Join(actions, ","), "finance.reconcile kasse") {
					t.Fatalf("audit log: %v", actions)
				}
			} else {
				st.check("no dead letters", "")
				// A paid booking cancelled in time lands on the refund work
				// list; marking it done writes the Storno.
				cancelled := booked[0]
				if res := s.do(t, "DELETE", "/api/v1/bookings/"+cancelled.Code, "", "Authorization", "Bearer "+cancelled.ManageToken); res.Status != 200 {
					t.Fatalf("cancel: %d %s", res.Status, res.Body)
				}
				s.work(t)
				st.open("/intern/kasse/erstattungen", "staff_finance_refunds")
				if main := st.text("main"); !strings.Contains(main, cancelled.Payment.Reference) {
					t.Fatalf("refund work list:\n%s", main)
				}
				st.check("refunds", "")
				st.do(chromedp.SendKeys(chromedp.CSS(`form.refund-done input[name=note]`), "Backoffice 2026-12-01"),
					chromedp.Click(chromedp.CSS(`form.refund-done button`)), chromedp.WaitReady(chromedp.CSS(`.notice-ok`)))
				st.check("refund done", "")
				if n := s.count(t, `SELECT count(*) FROM postings t JOIN payments p ON p.id = t.payment_id WHERE t.kind = 'storno' AND p.reference = $1`,
					cancelled.Payment.Reference); n != 1 {
					t.Fatalf("%d Stornos after the refund", n)
				}
				st.open("/intern/kasse/erstattungen?status=erledigt", "staff_finance_refunds")
				if main := st.text("main"); !strings.Contains(main, "Backoffice 2026-12-01") || !strings.Contains(main, "S-"+cancelled.Payment.Kassenzeichen) {
					t.Fatalf("done refunds:\n%s", main)
				}
				st.check("refunds done", "")
			}

			// Statistics are the administrator's (and the desk leads').
			st.open("/intern/statistik", "message")
			st.do(chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_login"]`)))
			st.do(loginBrowser(s.URL, "verwaltung", testPassword)...)
			st.open("/intern/statistik", "staff_stats")
			if got := st.text(`.totals`); strings.Contains(got, "\n0\n") {
				t.Fatalf("no statistics: %s", got)
			}
			st.check("statistics", "statistics")
			st.open("/intern/statistik/morgen", "staff_stats_tomorrow")
			st.check("tomorrow", "statistics-tomorrow")
			st.open("/intern/statistik/belegung?standort=stadtbad&tag="+today.AddDate(0, 0, 1).Format(time.DateOnly), "staff_stats_occupancy")
			st.check("occupancy", "")
			st.do(chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_login"]`)))
		})
	}
}
