package agent_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/kiosk/agent"
	"github.com/digitale-verwaltung/termin/kiosk/simhw"
	"github.com/digitale-verwaltung/termin/printer"
)

const office = "buergeramt-koblenz"

func waitReceipt(t *testing.T, p *simhw.Printer, n int) printer.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := p.WaitReceipts(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return rs[n-1]
}

func TestCounterCheckInAndWalkIn(t *testing.T) {
	s := startServer(t)
	r := newRig(t, s, rigOptions{location: office, mode: "counter", tweak: func(c *agent.Config) {
		c.TicketQR = "https://termin.example.de/warten/{location}/{number}"
		c.PrintErrorSlips = true
	}})

	// A scan at the start screen checks the appointment in.
	appt := s.appointmentNow(office, "personalausweis")
	if err := r.scanner.Scan(appt.QR); err != nil {
		t.Fatal(err)
	}
	rc := waitReceipt(t, r.printer, 1)
	text := rc.Text()
	if rc.Lines[0].Text != "Bürgeramt Koblenz" || !rc.Cut {
		t.Errorf("ticket header/cut: %q", text)
	}
	var number printer.Line
	for _, l := range rc.Lines {
		if regexp.MustCompile(`^[A-Z]\d{3}$`).MatchString(l.Text) {
			number = l
		}
	}
	if number.Text != "T001" || number.Height < 2 {
		t.Errorf("number line %+v in %q", number, text)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, want := range []string{"Personalausweis beantragen", "Termin / Appointment " + appt.Start.In(berlin).Format("15:04"),
		"Vor Ihnen / Ahead of you: 0", "Wartezeit ca.", time.Now().In(berlin).Format("02.01.2006")} {
		if !strings.Contains(text, want) {
			t.Errorf("ticket lacks %q:\n%s", want, text)
		}
	}
	if len(rc.QR) != 1 || rc.QR[0] != "https://termin.example.de/warten/buergeramt-koblenz/T001" {
		t.Errorf("ticket QR %q", rc.QR)
	}
	servicetest.Eventually(t, "check-in on screen", 5*time.Second, func() bool {
		st := r.status()
		return st.Screen == "result" && st.Outcome != nil && st.Outcome.Ticket != nil && st.Outcome.Ticket.Number == "T001"
	})
	if html := r.page(); !strings.Contains(html, `id="number">T001<`) || !strings.Contains(html, `lang="de"`) {
		t.Errorf("page does not show T001:\n%s", html)
	}

	// No appointment: choose a service on the touch page.
	r.post("/home", nil)
	r.post("/services", nil)
	if html := r.page(); !strings.Contains(html, `value="meldebescheinigung"`) || !strings.Contains(html, `>Meldebescheinigung</button>`) {
		t.Errorf("service buttons missing:\n%s", html)
	}
	r.post("/walk-in", url.Values{"service": {"meldebescheinigung"}})
	rc = waitReceipt(t, r.printer, 2)
	if !strings.Contains(rc.Text(), "\nA001\n") || !strings.Contains(rc.Text(), "Meldebescheinigung") {
		t.Errorf("walk-in ticket:\n%s", rc.Text())
	}
	if st := r.status(); st.Outcome == nil || st.Outcome.Kind != "walkin" || st.Outcome.Ticket.Number != "A001" {
		t.Errorf("walk-in outcome %+v", st.Outcome)
	}

	// Errors are shown in German and English and printed as a slip.
	cases := []struct{ scan, code, de string }{
		{scan: "https://example.org/not-a-ticket", code: "ticket_invalid", de: "kein gültiges Ticket"},
		{scan: s.book(office, "meldebescheinigung").QR, code: "checkin_wrong_day", de: "nicht heute"},
	}
	for i, c := range cases {
		if err := r.scanner.Scan(c.scan); err != nil {
			t.Fatal(err)
		}
		slip := waitReceipt(t, r.printer, 3+i)
		if !strings.Contains(strings.Join(strings.Fields(slip.Text()), " "), c.de) {
			t.Errorf("%s: slip %q", c.code, slip.Text())
		}
		st := r.status()
		if st.Outcome == nil || st.Outcome.Error == nil || st.Outcome.Error.Code != c.code || !strings.Contains(st.Outcome.Error.DE, c.de) || st.Outcome.Error.EN == "" {
			b, _ := json.Marshal(st.Outcome)
			t.Errorf("%s: outcome %s", c.code, b)
		}
		if html := r.page(); !strings.Contains(html, `role="alert"`) || !strings.Contains(html, c.de) {
			t.Errorf("%s: page does not show the error", c.code)
		}
	}

	// The booking code typed in works like the QR code.
	appt2 := s.appointmentNow(office, "wohnsitz-anmelden")
	r.post("/appointment", nil)
	r.post("/check-in", url.Values{"code": {strings.ToLower(appt2.Code[:4]) + "-" + appt2.Code[4:]}})
	rc = waitReceipt(t, r.printer, 5)
	if !strings.Contains(rc.Text(), "\nT002\n") || !strings.Contains(rc.Text(), "Wohnsitz anmelden") ||
		!strings.Contains(rc.Text(), "Termin / Appointment "+appt2.Start.In(berlin).Format("15:04")) {
		t.Errorf("check-in by code:\n%s", rc.Text())
	}
}

func TestCounterRecoversAndReportsPaperOut(t *testing.T) {
	s := startServer(t)
	r := newRig(t, s, rigOptions{location: office, mode: "counter"})
	servicetest.Eventually(t, "devices connected", 5*time.Second, func() bool {
		st := r.status()
		return st.Scanner.Connected && st.Printer.Connected && st.Printer.Paper == "ok"
	})

	// Pull both cables: the page says so, and scans after the replug work
	// on the new ports.
	oldPrinter, oldScanner := r.printer.PortName(), r.scanner.PortName()
	if err := r.printer.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := r.scanner.Unplug(); err != nil {
		t.Fatal(err)
	}
	servicetest.Eventually(t, "unplug noticed", 5*time.Second, func() bool {
		st := r.status()
		return !st.Scanner.Connected && !st.Printer.Connected
	})
	if html := r.page(); !strings.Contains(html, `id="printer-problem"`) || !strings.Contains(html, `id="scanner-problem"`) {
		t.Errorf("page does not show the unplugged devices")
	}
	if err := r.printer.Replug(); err != nil {
		t.Fatal(err)
	}
	if err := r.scanner.Replug(); err != nil {
		t.Fatal(err)
	}
	t.Logf("printer %s → %s, scanner %s → %s", oldPrinter, r.printer.PortName(), oldScanner, r.scanner.PortName())
	servicetest.Eventually(t, "replug noticed", 5*time.Second, func() bool {
		st := r.status()
		return st.Scanner.Connected && st.Printer.Connected
	})
	appt := s.appointmentNow(office, "reisepass")
	if err := r.scanner.Scan(appt.QR); err != nil {
		t.Fatal(err)
	}
	if rc := waitReceipt(t, r.printer, 1); !strings.Contains(rc.Text(), "\nT001\n") {
		t.Errorf("after replug:\n%s", rc.Text())
	}

	// The roll runs out: the server hears of it, the page shows it, and no
	// number is drawn that cannot be printed.
	r.printer.SetStatus(simhw.PaperOut())
	servicetest.Eventually(t, "paper out at the server", 10*time.Second, func() bool {
		var st agent.DeviceStatus
		json.Unmarshal(s.deviceStatus(r.device.ID), &st)
		return st.Printer.Paper == "out" && !st.Printer.Online && st.Scanner.Connected
	})
	if html := r.page(); !strings.Contains(html, "kein Papier mehr") {
		t.Errorf("page does not show paper out:\n%s", html)
	}
	r.post("/lang", url.Values{"lang": {"en"}})
	if html := r.page(); !strings.Contains(html, "out of paper") || !strings.Contains(html, `<html lang="en" dir="ltr"`) {
		t.Errorf("English page does not show paper out:\n%s", html)
	}
	r.post("/services", nil)
	r.post("/walk-in", url.Values{"service": {"personalausweis"}})
	if st := r.status(); st.Outcome == nil || st.Outcome.Error == nil || st.Outcome.Error.Code != "printer_not_ready" {
		t.Errorf("walk-in with paper out: %+v", st.Outcome)
	}
	// New roll.
	r.printer.SetStatus(printer.Status{})
	servicetest.Eventually(t, "paper ok at the server", 10*time.Second, func() bool {
		var st agent.DeviceStatus
		json.Unmarshal(s.deviceStatus(r.device.ID), &st)
		return st.Printer.Paper == "ok" && st.Printer.Online
	})
	r.post("/walk-in", url.Values{"service": {"personalausweis"}})
	if rc := waitReceipt(t, r.printer, 2); !strings.Contains(rc.Text(), "\nA001\n") {
		t.Errorf("after new roll:\n%s", rc.Text())
	}
}

// Inactivity first warns, "more time" restarts the clock, and the timeout
// returns to the start with the session's settings reset.
func TestCounterIdleWarningAndMoreTime(t *testing.T) {
	s := startServer(t)
	r := newRig(t, s, rigOptions{location: office, mode: "counter", tweak: func(c *agent.Config) {
		c.IdleTimeout, c.IdleWarning = 3*time.Second, 2*time.Second
	}})
	r.post("/lang", url.Values{"lang": {"uk"}})
	r.post("/display", url.Values{"toggle": {"large"}})
	r.post("/services", nil)
	start := time.Now()
	servicetest.Eventually(t, "the warning", 5*time.Second, func() bool { return r.status().Warning })
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("warning after %v, want about 1s", waited)
	}
	html := r.page()
	if !strings.Contains(html, `role="alertdialog"`) || !strings.Contains(html, "Вам потрібно більше часу?") || !strings.Contains(html, `id="more-time"`) {
		t.Errorf("warning not shown:\n%s", html)
	}
	r.post("/more-time", nil)
	if st := r.status(); st.Warning || st.Screen != "services" || st.Lang != "uk" {
		t.Errorf("after more time: %+v", st)
	}
	servicetest.Eventually(t, "the timeout", 6*time.Second, func() bool { return r.status().Screen == "home" })
	if st := r.status(); st.Lang != "de" || strings.Contains(r.page(), `class="large`) {
		t.Errorf("settings kept after the timeout: %+v", st)
	}
}

// A session in Arabic or Ukrainian gets its ticket in that language: the
// lines the code page cannot hold arrive as raster images, the number, the
// German service name and the German line for the staff as text.
func TestCounterTicketInTheSessionLanguage(t *testing.T) {
	s := startServer(t)
	r := newRig(t, s, rigOptions{location: office, mode: "counter", tweak: func(c *agent.Config) { c.PrintErrorSlips = true }})
	// German first: the bilingual ticket has no images.
	r.post("/walk-in", url.Values{"service": {"meldebescheinigung"}})
	if rc := waitReceipt(t, r.printer, 1); rc.Images != 0 || !strings.Contains(rc.Text(), "Ihre Nummer / Your number") {
		t.Errorf("German ticket: %d images\n%s", rc.Images, rc.Text())
	}
	for i, lang := range []string{"ar", "uk"} {
		r.post("/done", nil)
		r.post("/lang", url.Values{"lang": {lang}})
		r.post("/walk-in", url.Values{"service": {"meldebescheinigung"}})
		rc := waitReceipt(t, r.printer, 2+2*i)
		text := rc.Text()
		if rc.Images < 3 || !strings.Contains(text, "Meldebescheinigung") || !strings.Contains(text, "Bitte achten Sie auf die Anzeige.") ||
			strings.Contains(text, "Your number") || !regexp.MustCompile(`\nA00\d\n`).MatchString(text) {
			t.Errorf("%s ticket: %d images\n%s", lang, rc.Images, text)
		}
		if st := r.status(); st.Outcome == nil || st.Outcome.Lang != lang {
			t.Errorf("%s: outcome %+v", lang, st.Outcome)
		}
		// A failed check-in prints its slip in the language too.
		if err := r.scanner.Scan("https://example.org/not-a-ticket"); err != nil {
			t.Fatal(err)
		}
		slip := waitReceipt(t, r.printer, 3+2*i)
		if slip.Images == 0 || !strings.Contains(strings.Join(strings.Fields(slip.Text()), " "), "kein gültiges Ticket") {
			t.Errorf("%s slip: %d images\n%s", lang, slip.Images, slip.Text())
		}
		time.Sleep(150 * time.Millisecond) // the scanner's debounce
	}
}

// A ticket QR the paper cannot hold is never clipped: the visitor is told
// the number could not be printed, and the server's device list says why,
// until a ticket prints again.
func TestCounterReportsAQRTooLargeForThePaper(t *testing.T) {
	s := startServer(t)
	long := "https://termin.example.de/warten/{location}/{number}?" + strings.Repeat("x", 600)
	r := newRig(t, s, rigOptions{location: office, mode: "counter", tweak: func(c *agent.Config) {
		c.TicketQR = long
		c.PrinterWidthMM = 58
	}})
	servicetest.Eventually(t, "printer connected", 5*time.Second, func() bool { return r.status().Printer.Connected })
	r.post("/walk-in", url.Values{"service": {"meldebescheinigung"}})
	if st := r.status(); st.Outcome == nil || st.Outcome.PrintError == nil || st.Outcome.PrintError.Code != "print_failed" {
		t.Fatalf("walk-in with a QR too large: %+v", st.Outcome)
	}
	servicetest.Eventually(t, "fault at the server", 10*time.Second, func() bool {
		var st agent.DeviceStatus
		json.Unmarshal(s.deviceStatus(r.device.ID), &st)
		return st.Printer.PrintFault == "qr_too_large" && st.Printer.Paper == "ok"
	})
	if got := len(r.printer.Receipts()); got != 0 {
		t.Errorf("%d receipts printed with a clipped QR", got)
	}
}
