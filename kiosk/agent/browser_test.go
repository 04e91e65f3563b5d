package agent_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/digitale-verwaltung/termin/internal/browsertest"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/kiosk/agent"
	"github.com/digitale-verwaltung/termin/kiosk/simhw"
	"github.com/digitale-verwaltung/termin/printer"
)

// kiosk drives the counter page in a browser tab.
type kiosk struct {
	t   *testing.T
	ctx context.Context
	r   *rig
}

func openKiosk(t *testing.T, b *browsertest.Browser, r *rig) *kiosk {
	k := &kiosk{t: t, ctx: b.Tab(t, 2*time.Minute), r: r}
	k.do(chromedp.Navigate(r.agent.URL()))
	k.waitScreen("home")
	return k
}

func (k *kiosk) do(steps ...chromedp.Action[chromedp.Void]) {
	k.t.Helper()
	if err := chromedp.Do(k.ctx, steps...); err != nil {
		k.t.Fatal(err)
	}
}

func (k *kiosk) eval(js string) string {
	k.t.Helper()
	v, err := chromedp.Run(k.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		k.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitScreen waits until the page shows screen; the page gets there by
// itself (a form's reload or a server-sent event), never by a timer.
func (k *kiosk) waitScreen(screen string) {
	k.t.Helper()
	k.do(chromedp.WaitVisible(`#app[data-screen="` + screen + `"]`))
}

// focused is the data-key of the focused control.
func (k *kiosk) focused() string {
	return k.eval(`(document.activeElement && document.activeElement.getAttribute("data-key")) || ""`)
}

func (k *kiosk) key(keys string) { k.t.Helper(); k.do(chromedp.KeyEvent(keys)) }

func (k *kiosk) waitFocus(key string) {
	k.t.Helper()
	servicetest.Eventually(k.t, "focus on "+key, 5*time.Second, func() bool { return k.focused() == key })
}

func (k *kiosk) noTimedRefresh() {
	k.t.Helper()
	if n := k.eval(`String(document.querySelectorAll('meta[http-equiv="refresh" i]').length)`); n != "0" {
		k.t.Errorf("the page refreshes on a timer (%s meta refresh)", n)
	}
}

// Every state of the counter page in every language passes axe-core's
// WCAG 2.0/2.1 A and AA rules.
func TestCounterPageAxe(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{})
	s := startServer(t)
	r := newRig(t, s, rigOptions{location: office, mode: "counter"})
	k := openKiosk(t, b, r)
	shots := os.Getenv("TERMIN_SCREENSHOTS")
	check := func(lang, state string) {
		t.Helper()
		k.do(chromedp.Navigate(r.agent.URL()), chromedp.WaitVisible(`#app[data-lang="`+lang+`"]`))
		k.noTimedRefresh()
		if got := k.eval(`document.documentElement.lang + " " + document.documentElement.dir`); got != lang+" "+map[bool]string{true: "rtl", false: "ltr"}[lang == "ar"] {
			t.Errorf("%s %s: lang and dir %q", lang, state, got)
		}
		b.CheckAxe(t, k.ctx, lang+" "+state)
		// Every control in the lower two thirds of the screen and at
		// least 2 cm (75.6 CSS px at 96 dpi) in both directions.
		if bad := k.eval(`Array.from(document.querySelectorAll("button, input")).filter(el => {
			const r = el.getBoundingClientRect();
			return r.top + window.scrollY < window.innerHeight / 3 - 1 || r.height < 75.6 || r.width < 75.6;
		}).map(el => (el.getAttribute("data-key") || el.id) + " " + JSON.stringify(el.getBoundingClientRect())).join("; ")`); bad != "" {
			t.Errorf("%s %s: controls out of reach or too small: %s", lang, state, bad)
		}
		if shots != "" && ((lang == "ar" && state == "home") || (lang == "de" && state == "large text") || (lang == "de" && state == "ticket")) {
			name := "kiosk-" + lang + "-" + strings.ReplaceAll(state, " ", "-") + ".png"
			if err := browsertest.Screenshot(k.ctx, filepath.Join(shots, name)); err != nil {
				t.Error(err)
			}
		}
	}
	for _, lang := range agent.Languages {
		r.post("/done", nil)
		r.post("/lang", url.Values{"lang": {lang}})
		check(lang, "home")
		r.post("/appointment", nil)
		check(lang, "appointment")
		r.post("/home", nil)
		r.post("/services", nil)
		check(lang, "services")
		r.post("/walk-in", url.Values{"service": {"meldebescheinigung"}})
		check(lang, "ticket")
		if err := r.scanner.Scan("https://example.org/not-a-ticket"); err != nil {
			t.Fatal(err)
		}
		servicetest.Eventually(t, "the error", 5*time.Second, func() bool { st := r.status(); return st.Outcome != nil && st.Outcome.Error != nil })
		check(lang, "error")
		r.post("/home", nil)
		r.post("/display", url.Values{"toggle": {"large"}})
		check(lang, "large text")
		r.post("/display", url.Values{"toggle": {"contrast"}})
		check(lang, "large text and high contrast")
		r.post("/display", url.Values{"toggle": {"large"}})
		check(lang, "high contrast")
	}
	// A printer problem on the start screen, in Arabic.
	r.post("/done", nil)
	r.post("/lang", url.Values{"lang": {"ar"}})
	r.printer.SetStatus(simhw.PaperOut())
	servicetest.Eventually(t, "paper out", 5*time.Second, func() bool { return r.status().Printer.Problem == "paper_out" })
	check("ar", "paper out")
	r.printer.SetStatus(printer.Status{})
}

// A walk-in with the keypad alone: 2 moves to "no appointment", 5 chooses,
// 2 moves to the second service, Enter draws the number, 5 on "done"
// returns to the start.
func TestCounterKeypadWalkIn(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{})
	s := startServer(t)
	r := newRig(t, s, rigOptions{location: office, mode: "counter"})
	k := openKiosk(t, b, r)
	k.waitFocus("appointment")
	k.key("2")
	k.waitFocus("walk-in")
	k.key("5")
	k.waitScreen("services")
	first := k.focused()
	if !strings.HasPrefix(first, "service-") {
		t.Fatalf("focus on the services screen: %q", first)
	}
	k.key(kb.ArrowDown)
	second := k.focused()
	if second == first || !strings.HasPrefix(second, "service-") {
		t.Fatalf("arrow down: focus %q after %q", second, first)
	}
	k.key(kb.Enter)
	k.waitScreen("result")
	rc := waitReceipt(t, r.printer, 1)
	number := k.eval(`document.getElementById("number").textContent`)
	if !strings.Contains(rc.Text(), "\n"+number+"\n") {
		t.Errorf("page shows %q, ticket:\n%s", number, rc.Text())
	}
	if st := r.status(); st.Outcome == nil || "service-"+st.Outcome.Ticket.Service != second {
		t.Errorf("drew a number for %+v, chose %s", st.Outcome, second)
	}
	k.waitFocus("done")
	if live := k.eval(`document.getElementById("live").textContent`); !strings.Contains(live, "Ihre Nummer") {
		t.Errorf("live region %q", live)
	}
	k.key("5")
	k.waitScreen("home")
}

// A check-in with the keypad alone: 5 on "I have an appointment", the
// confirmation scanned, the number appears by itself (a server-sent
// event), 0 returns to the start. The language is chosen with the keypad
// too.
func TestCounterKeypadCheckIn(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{})
	s := startServer(t)
	r := newRig(t, s, rigOptions{location: office, mode: "counter"})
	k := openKiosk(t, b, r)
	k.waitFocus("appointment")
	// Up from the first choice wraps to the end of the page: the help key.
	for i := 0; i < 10 && k.focused() != "lang-uk"; i++ {
		k.key("8")
	}
	k.waitFocus("lang-uk")
	k.key("5")
	k.do(chromedp.WaitVisible(`#app[data-lang="uk"]`))
	k.waitFocus("appointment")
	k.key(kb.Enter)
	k.waitScreen("appointment")
	// The screen's script moves the focus once the screen is shown.
	servicetest.Eventually(t, "focus on the code field", 5*time.Second, func() bool {
		return k.eval(`document.activeElement.id`) == "code"
	})
	appt := s.appointmentNow(office, "personalausweis")
	if err := r.scanner.Scan(appt.QR); err != nil {
		t.Fatal(err)
	}
	k.waitScreen("result")
	k.noTimedRefresh()
	if n := k.eval(`document.getElementById("number").textContent`); n != "T001" {
		t.Errorf("number %q", n)
	}
	k.waitFocus("done")
	if live := k.eval(`document.getElementById("live").textContent`); !strings.Contains(live, "Ваш номер") {
		t.Errorf("live region %q", live)
	}
	k.key("0")
	k.waitScreen("home")
	k.do(chromedp.WaitVisible(`#app[data-lang="de"]`))
}

// The inactivity warning appears by itself, spoken and shown, with focus
// on "more time"; one key gives more time; later the page returns to the
// start by itself.
func TestCounterIdleWarningInBrowser(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{})
	s := startServer(t)
	r := newRig(t, s, rigOptions{location: office, mode: "counter", tweak: func(c *agent.Config) {
		c.IdleTimeout, c.IdleWarning = 4*time.Second, 3*time.Second
		c.Speech = true
		c.SpeechCommand = "espeak-ng --stdin -v {voice} -w " + filepath.Join(t.TempDir(), "speech.wav")
	}})
	k := openKiosk(t, b, r)
	k.key("2")
	// With speech on, the choice the focus moves to is spoken.
	waitSpoken(t, r.agent.Speaker(), "the focused choice", func(u agent.Utterance) bool { return u.Text == "Ohne Termin" })
	k.key("5")
	k.waitScreen("services")
	k.do(chromedp.WaitVisible(`#idle`))
	k.waitFocus("more-time")
	if live := k.eval(`document.getElementById("live").textContent`); !strings.Contains(live, "Brauchen Sie mehr Zeit?") {
		t.Errorf("live region %q", live)
	}
	waitSpoken(t, r.agent.Speaker(), "the warning", func(u agent.Utterance) bool { return strings.Contains(u.Text, "Brauchen Sie mehr Zeit?") })
	b.CheckAxe(t, k.ctx, "idle warning")
	k.key("5")
	k.do(chromedp.WaitNotPresent(`#idle`))
	k.waitScreen("services")
	if st := r.status(); st.Warning || st.Screen != "services" {
		t.Errorf("after more time: %+v", st)
	}
	k.waitScreen("home")
}

// The entrance gate's screen passes axe-core waiting, admitting and
// refusing, and shows each decision by itself (a server-sent event).
func TestGatePageAxe(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{})
	s := startServer(t)
	r := newRig(t, s, rigOptions{location: pool, mode: "gate", tweak: func(c *agent.Config) {
		c.GateOnlineWait = 2 * time.Second
	}})
	k := &kiosk{t: t, ctx: b.Tab(t, time.Minute), r: r}
	k.do(chromedp.Navigate(r.agent.URL()), chromedp.WaitVisible(`#app[data-screen="gate"]`))
	k.noTimedRefresh()
	b.CheckAxe(t, k.ctx, "gate waiting")
	ticket := s.book(pool, "erwachsene")
	if d := r.scanDecision(ticket.QR); !d.Admit {
		t.Fatalf("scan: %+v", d)
	}
	k.do(chromedp.WaitVisible(`.admit#decision`))
	b.CheckAxe(t, k.ctx, "gate admitting")
	if d := r.scanDecision(ticket.QR); d.Admit {
		t.Fatalf("second scan admitted: %+v", d)
	}
	k.do(chromedp.WaitVisible(`.refuse#decision`))
	b.CheckAxe(t, k.ctx, "gate refusing")
}
