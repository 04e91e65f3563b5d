package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/browsertest"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// TestAdminPagesInBrowser: an administrator changes opening hours on one
// replica and a citizen's page on another replica follows; closing a day
// that has a booking lists it, and choosing to cancel it sends the
// citizen the cancellation mail. Every administration page is checked
// with axe-core in German and English.
func TestAdminPagesInBrowser(t *testing.T) {
	flags, mp := mailFlags(t)
	rs := replicas(t, 2, flags...)
	a, b := rs[0], rs[1]
	in := newInbox(t, a.deps, mp)
	a.staffAccount(t, "verwaltung", testPassword, auth.RoleAdmin)
	br := browsertest.Start(t, browsertest.Options{Width: 1280, Height: 1000})
	berlin, _ := time.LoadLocation("Europe/Berlin")

	cases := []struct {
		lang            string
		closes, last    string // Monday's new closing time and the last start it leaves
		conflictDay     time.Weekday
		conflictSubject string
		cancelledNotice string
	}{
		{"de", "11:00", "10:50", time.Tuesday, "Termin storniert", "Eine Buchung wurde storniert"},
		{"en", "10:30", "10:20", time.Wednesday, "Termin storniert", "One booking was cancelled"},
	}
	for _, tc := range cases {
		t.Run(tc.lang, func(t *testing.T) {
			st := newStaffTab(t, br, a.URL, tc.lang)
			st.do(loginBrowser(a.URL, "verwaltung", testPassword)...)
			st.open("/intern/verwaltung", "staff_admin")
			st.check("admin", "")
			st.open("/intern/verwaltung/standorte", "staff_admin_locations")
			st.check("admin-locations", "admin-locations")

			// Opening hours on replica A; the citizen's times on B.
			monday := nextWeekday(time.Monday)
			citizen := newStaffTab(t, br, b.URL, tc.lang)
			timesPath := "/" + adminOffice + "/zeit?s=meldebescheinigung&tag=" + monday.String()
			lastTime := func() string {
				citizen.open(timesPath, "times")
				v, err := chromedp.Run(citizen.ctx, chromedp.Evaluate[string](
					`(() => { const l = [...document.querySelectorAll('.times label')]; return l.length ? l[l.length-1].textContent.trim() : ""; })()`))
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			before := lastTime()
			st.open("/intern/verwaltung/standorte/"+adminOffice, "staff_admin_location")
			st.check("admin-location", "admin-location")
			st.do(chromedp.SetValue(chromedp.CSS(`#close_mon_1`), tc.closes), chromedp.Click(chromedp.CSS(`form button.primary`)),
				chromedp.WaitReady(chromedp.CSS(`p.notice[role=status]`)))
			st.check("admin-location-saved", "")
			took := followsWithin(t, 3*time.Second, "the citizen's page on replica B", func() bool {
				return strings.Contains(lastTime(), tc.last)
			})
			t.Logf("times on replica B: last %q before, %q %v after the change", before, tc.last, took)

			// A field error keeps the entries and links from the summary.
			st.do(chromedp.SetValue(chromedp.CSS(`#capacity`), "null"), chromedp.SetValue(chromedp.CSS(`#open_sat_1`), "9 Uhr"),
				chromedp.Click(chromedp.CSS(`form button.primary`)), chromedp.WaitReady(chromedp.CSS(`#error-summary a[href="#capacity"]`)))
			if v, _ := chromedp.Run(st.ctx, chromedp.Evaluate[string](`document.getElementById("open_sat_1").value`)); v != "9 Uhr" {
				t.Fatalf("the entry was not kept: %q", v)
			}
			st.check("admin-location-errors", "admin-location-errors")

			// Closing a day that has a booking: the list, then the cancel.
			day := nextWeekday(tc.conflictDay)
			addr := uniqueAddress("verwaltung-" + tc.lang)
			id := b.mustHold(t, adminOffice, "meldebescheinigung", time.Date(day.Year, day.Month, day.Day, 9, 30, 0, 0, berlin).UTC().Format(time.RFC3339), 1)
			res := b.do(t, "POST", "/api/v1/bookings", `{"hold":"`+id+`","name":"Erika Mustermann","email":"`+addr+`","lang":"`+tc.lang+`"}`)
			if res.Status != 201 {
				t.Fatalf("book: %d %s", res.Status, res.Body)
			}
			var bk struct{ Code string }
			res.decode(t, &bk)
			st.open("/intern/verwaltung/standorte/"+adminOffice, "staff_admin_location")
			closures, _ := chromedp.Run(st.ctx, chromedp.Evaluate[string](`document.getElementById("closures").value`))
			st.do(chromedp.SetValue(chromedp.CSS(`#closures`), closures+"\n"+dayDE(day)+" Personalversammlung"),
				chromedp.Click(chromedp.CSS(`form button.primary`)), chromedp.WaitReady(chromedp.CSS(`#conflicts-h`)))
			if got := st.text(`.conflicts table`); !strings.Contains(got, bk.Code) {
				t.Fatalf("the affected list lacks %s: %q", bk.Code, got)
			}
			st.check("admin-conflict", "admin-conflict")
			st.do(chromedp.Click(chromedp.CSS(`#cancel_conflicts`)), chromedp.SendKeys(chromedp.CSS(`#cancel_reason`), "Personalversammlung"),
				chromedp.Click(chromedp.CSS(`form button.primary`)), chromedp.WaitReady(chromedp.CSS(`p.notice[role=status]`)))
			if got := st.text(`p.notice`); !strings.Contains(got, tc.cancelledNotice) {
				t.Fatalf("after cancelling: %q", got)
			}
			st.check("admin-conflict-done", "")
			if in != nil {
				m := in.wait(t, addr, tr(tc.lang, "Termin storniert", "Booking cancelled"))
				if !strings.Contains(m.Text, bk.Code) || !strings.Contains(m.Text, "Personalversammlung") {
					t.Fatalf("cancellation mail without the booking code or the reason:\n%s", m.Text)
				}
			}

			// The other pages.
			st.open("/intern/verwaltung/dienste", "staff_admin_services")
			st.check("admin-services", "")
			st.open("/intern/verwaltung/dienste/personalausweis", "staff_admin_service")
			if v, _ := chromedp.Run(st.ctx, chromedp.Evaluate[string](`document.getElementById("sachkonto").value`)); v != "4311000" {
				t.Fatalf("Sachkonto of personalausweis: %q", v)
			}
			st.check("admin-service", "admin-service")
			st.do(chromedp.SetValue(chromedp.CSS(`#kostenstelle`), "1220;10"), chromedp.Click(chromedp.CSS(`form button.primary`)),
				chromedp.WaitReady(chromedp.CSS(`#kostenstelle-error`)))
			st.check("admin-service-error", "")
			st.open("/intern/verwaltung/tickets", "staff_admin_services")
			st.check("admin-tickets", "")
			st.open("/intern/verwaltung/tickets/erwachsene", "staff_admin_service")
			st.check("admin-ticket", "")
			st.open("/intern/verwaltung/dienste/neu?standort="+adminOffice, "staff_admin_service")
			st.check("admin-service-new", "")
			st.open("/intern/verwaltung/standorte/neu", "staff_admin_location")
			st.do(chromedp.SendKeys(chromedp.CSS(`#id`), "api"), chromedp.Click(chromedp.CSS(`form button.primary`)),
				chromedp.WaitReady(chromedp.CSS(`#id-error`)))
			st.check("admin-location-new-error", "")

			st.open("/intern/verwaltung/geraete", "staff_admin_devices")
			st.do(chromedp.SendKeys(chromedp.CSS(`#name`), "Kiosk Foyer "+tc.lang), chromedp.Click(chromedp.CSS(`#mode-counter`)),
				chromedp.Click(chromedp.CSS(`form[action="/intern/verwaltung/geraete"] button.primary`)), chromedp.WaitReady(chromedp.CSS(`#code-h`)))
			code := strings.TrimSpace(st.text(`p.code`))
			if len(code) != 14 {
				t.Fatalf("enrolment code %q", code)
			}
			st.check("admin-devices-enrolled", "admin-devices")
			st.do(chromedp.Click(chromedp.CSS(`tbody tr:last-child button.danger`)), chromedp.WaitReady(chromedp.CSS(`p.notice[role=status]`)))
			st.check("admin-devices-revoked", "")

			st.open("/intern/verwaltung/stadtdatei", "staff_admin_city")
			st.check("admin-city", "admin-city")
			st.do(chromedp.Click(chromedp.CSS(`header form.logout button`)), chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_login"]`)))
		})
	}
}

// dayDE writes a day as the German form shows it (24.12.2026).
func dayDE(d booking.Date) string {
	return d.Midnight(time.UTC).Format("02.01.2006")
}
