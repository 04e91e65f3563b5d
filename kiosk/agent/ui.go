package agent

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

//go:embed ui/*.html ui/kiosk.js
var uiFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"clock": func(t time.Time, tz *time.Location) string { return t.In(tz).Format("15:04") },
	"deref": func(t *time.Time) time.Time { return *t },
	"t":     text,
	"dir":   textDir,
	"msg":   messageText,
}).ParseFS(uiFiles, "ui/*.html"))

// Screens of a counter kiosk.
const (
	screenHome        = "home"
	screenAppointment = "appointment"
	screenServices    = "services"
	screenResult      = "result"
)

// prefs are a visitor's choices for one session: kept from screen to
// screen, reset when the kiosk returns to the start for the next person.
type prefs struct {
	Lang     string
	Large    bool // larger text
	Contrast bool // high contrast
	Speech   bool // speak screens and focused choices
}

// screen is what the kiosk's display shows. There is one display, so the
// state lives in the agent and a scan can change it at any time.
type screen struct {
	Name    string
	Outcome *Outcome
	// Since is the last input (or the screen change); the idle timeout
	// counts from here.
	Since time.Time
	Prefs prefs
}

func (a *Agent) defaultPrefs() prefs {
	return prefs{Lang: defaultLang, Speech: a.cfg.Speech}
}

func (a *Agent) startScreen() screen {
	return screen{Name: screenHome, Since: time.Now(), Prefs: a.defaultPrefs()}
}

func (a *Agent) show(o Outcome) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scr = screen{Name: screenResult, Outcome: &o, Since: time.Now(), Prefs: a.scr.Prefs}
}

func (a *Agent) setScreen(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scr = screen{Name: name, Since: time.Now(), Prefs: a.scr.Prefs}
}

// endSession returns to the start screen for the next visitor.
func (a *Agent) endSession() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scr = a.startScreen()
}

// updatePrefs changes the session's settings and counts as input.
func (a *Agent) updatePrefs(f func(*prefs)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(&a.scr.Prefs)
	a.scr.Since = time.Now()
}

// touch records input that does not change the screen (focus moved,
// "more time").
func (a *Agent) touch() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scr.Since = time.Now()
}

// idleLimits returns how long scr may stay without input and when before
// that the warning appears; zero means it stays (the start screen with
// the default settings: there is nothing to reset).
func (a *Agent) idleLimits(scr screen) (timeout, warn time.Duration) {
	switch {
	case scr.Name == screenResult:
		timeout = a.cfg.ResultScreen
	case scr.Name == screenHome && scr.Prefs == a.defaultPrefs():
		return 0, 0
	default:
		timeout = a.cfg.IdleTimeout
	}
	return timeout, min(a.cfg.IdleWarning, timeout/2)
}

// view is the screen as shown now: the timeout applied and the warning
// decided.
type view struct {
	screen
	// Warn is set while the inactivity warning is up; Remaining is how
	// many seconds are left then.
	Warn      bool
	Remaining int
}

// current returns the screen, falling back to the start screen after a
// while so the next visitor does not see the previous one's number or
// settings.
func (a *Agent) current() view {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	timeout, warn := a.idleLimits(a.scr)
	idle := now.Sub(a.scr.Since)
	if timeout > 0 && idle >= timeout {
		a.scr = a.startScreen()
		return view{screen: a.scr}
	}
	v := view{screen: a.scr}
	if timeout > 0 && idle >= timeout-warn {
		v.Warn = true
		v.Remaining = int((timeout - idle + time.Second - 1) / time.Second)
	}
	return v
}

type pageData struct {
	Screen   string
	Location string
	Services []Service
	Outcome  *Outcome
	Printer  PrinterState
	Status   DeviceStatus
	ServerOK bool
	TZ       *time.Location
	Gate     *Decision
	GateOpen bool

	Prefs     prefs
	Lang      string
	Languages []string
	Warn      bool
	Remaining int
}

// Announce is the screen's content as one text: written to the page's
// live region and spoken.
func (d pageData) Announce() string {
	l := d.Lang
	var parts []string
	add := func(s ...string) { parts = append(parts, s...) }
	if d.Warn {
		return text(l, "idle_title") + " " + text(l, "idle_text", d.Remaining) + " " + text(l, "more_time") + "."
	}
	switch d.Printer.Problem {
	case "":
	case "paper_out":
		add(text(l, "paper_out"))
	default:
		add(text(l, "printer_problem"))
	}
	if !d.ServerOK {
		add(text(l, "no_server"))
	}
	switch d.Screen {
	case screenAppointment:
		add(text(l, "scan_prompt"), text(l, "enter_code")+".")
	case screenServices:
		add(text(l, "choose_service"))
		for _, s := range d.Services {
			add(s.Name + ".")
		}
	case screenResult:
		o := d.Outcome
		if o == nil {
			break
		}
		if o.Error != nil {
			add(text(l, "failed"), messageText(l, o.Error).Text)
			break
		}
		if o.Ticket != nil {
			add(text(l, "your_number")+": "+spellNumber(o.Ticket.Number)+".",
				text(l, "ahead")+": "+fmt.Sprint(o.Ticket.Ahead)+".",
				text(l, "wait")+" "+text(l, "minutes", o.Ticket.EstimatedWaitMinutes)+".")
		}
		if o.PrintError != nil {
			add(messageText(l, o.PrintError).Text)
		} else {
			add(text(l, "take_ticket"), text(l, "watch_display"))
		}
	default:
		add(text(l, "welcome"), text(l, "have_appointment")+".", text(l, "no_appointment")+".", text(l, "scan_anytime"))
	}
	return strings.Join(parts, " ")
}

// spellNumber spaces a queue number's characters ("A017" → "A 0 1 7") so
// the speech engine reads it out as it is called at the desk.
func spellNumber(n string) string {
	return strings.Join(strings.Split(n, ""), " ")
}

// Beep is a key for the sound played once when a ticket appears.
func (d pageData) Beep() string {
	if d.Screen != screenResult || d.Outcome == nil || d.Outcome.Ticket == nil {
		return ""
	}
	return fmt.Sprint(d.Outcome.At.UnixNano())
}

// Handler serves the local page and a JSON status at /status.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.page)
	mux.HandleFunc("GET /status", a.statusJSON)
	mux.HandleFunc("GET /events", a.events)
	mux.HandleFunc("GET /kiosk.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeFileFS(w, r, uiFiles, "ui/kiosk.js")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	if a.mode == "counter" {
		mux.HandleFunc("POST /appointment", a.post(func(r *http.Request) { a.setScreen(screenAppointment) }))
		mux.HandleFunc("POST /services", a.post(func(r *http.Request) { a.setScreen(screenServices) }))
		mux.HandleFunc("POST /home", a.post(func(r *http.Request) { a.setScreen(screenHome) }))
		mux.HandleFunc("POST /done", a.post(func(r *http.Request) { a.endSession() }))
		mux.HandleFunc("POST /walk-in", a.post(func(r *http.Request) {
			if s := r.PostFormValue("service"); s != "" {
				a.WalkIn(r.Context(), s)
			}
		}))
		mux.HandleFunc("POST /check-in", a.post(func(r *http.Request) {
			if c := r.PostFormValue("code"); c != "" {
				a.CheckIn(r.Context(), c)
			}
		}))
		mux.HandleFunc("POST /lang", a.post(func(r *http.Request) {
			if l := r.PostFormValue("lang"); knownLang(l) {
				a.updatePrefs(func(p *prefs) { p.Lang = l })
			}
		}))
		mux.HandleFunc("POST /display", a.post(func(r *http.Request) {
			a.updatePrefs(func(p *prefs) {
				switch r.PostFormValue("toggle") {
				case "large":
					p.Large = !p.Large
				case "contrast":
					p.Contrast = !p.Contrast
				}
			})
		}))
		mux.HandleFunc("POST /more-time", a.post(func(r *http.Request) { a.touch() }))
		mux.HandleFunc("POST /help", a.post(func(r *http.Request) { a.help() }))
		mux.HandleFunc("POST /focus", a.focus)
	}
	return securityHeaders(mux)
}

func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || o == "http://"+r.Host
}

func (a *Agent) post(f func(*http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The page posts to itself; refuse forms from anywhere else.
		if !sameOrigin(r) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		f(r)
		a.uiChange()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

// help switches speech on for the session and reads the keys and the
// screen aloud.
func (a *Agent) help() {
	a.updatePrefs(func(p *prefs) { p.Speech = true })
	d := a.pageData()
	a.speaker.Say(d.Lang, text(d.Lang, "speech_on")+" "+text(d.Lang, "help_text")+" "+d.Announce())
}

// maxFocusText bounds what the page may ask to be spoken.
const maxFocusText = 300

// focus is POSTed by the page's script when the focus moves to another
// choice: input for the idle timeout, and spoken when speech is on.
func (a *Agent) focus(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	a.touch()
	a.mu.Lock()
	p := a.scr.Prefs
	a.mu.Unlock()
	if t := []rune(strings.TrimSpace(r.PostFormValue("text"))); p.Speech && len(t) > 0 {
		a.speaker.Say(p.Lang, string(t[:min(len(t), maxFocusText)]))
	}
	w.WriteHeader(http.StatusNoContent)
}

// Speaker is the agent's speech output.
func (a *Agent) Speaker() *Speaker { return a.speaker }

func (a *Agent) pageData() pageData {
	st := a.Status()
	a.mu.Lock()
	d := pageData{Location: a.sc.Location.Name, Services: a.sc.Services, ServerOK: a.serverOK, TZ: a.tz, Languages: Languages}
	a.mu.Unlock()
	d.Status, d.Printer = st, st.Printer
	if a.gate != nil {
		d.Lang, d.Prefs = defaultLang, a.defaultPrefs()
		if last, ok := a.gate.Last(); ok && time.Since(last.At) < 30*time.Second {
			d.Gate = &last
		}
		return d
	}
	v := a.current()
	d.Screen, d.Outcome, d.Prefs, d.Lang = v.Name, v.Outcome, v.Prefs, v.Prefs.Lang
	d.Warn, d.Remaining = v.Warn, v.Remaining
	return d
}

func (a *Agent) page(w http.ResponseWriter, r *http.Request) {
	d := a.pageData()
	name := "counter.html"
	if a.gate != nil {
		name = "gate.html"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		a.log.Error("render kiosk page", "err", err)
	}
}

// uiChange wakes the page's event streams.
func (a *Agent) uiChange() {
	a.mu.Lock()
	defer a.mu.Unlock()
	close(a.uiChanged)
	a.uiChanged = make(chan struct{})
}

func (a *Agent) uiChangedCh() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.uiChanged
}

// uiState is what the page shows, compared to notice changes: a scan, a
// result, the warning, the timeout, a printer or connection problem.
type uiState struct {
	Screen            string
	Outcome           *Outcome
	Prefs             prefs
	Warn              bool
	Printer           PrinterState
	ServerOK, Scanner bool
	Gate              time.Time
}

func (a *Agent) uiState() (uiState, pageData) {
	d := a.pageData()
	s := uiState{Screen: d.Screen, Outcome: d.Outcome, Prefs: d.Prefs, Warn: d.Warn, Printer: d.Printer,
		ServerOK: d.ServerOK, Scanner: d.Status.Scanner.Connected}
	if d.Gate != nil {
		s.Gate = d.Gate.At
	}
	return s, d
}

// uiPoll is how often uiLoop looks at the agent's state. It runs inside
// the agent only; the page itself never refreshes on a timer.
const uiPoll = 200 * time.Millisecond

// uiLoop notices every change of what the page shows, wakes the page's
// event streams and speaks the new screen when the session has speech on.
func (a *Agent) uiLoop(ctx context.Context) {
	t := time.NewTicker(uiPoll)
	defer t.Stop()
	last, _ := a.uiState()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now, d := a.uiState()
		if now == last {
			continue
		}
		a.uiChange()
		screenChanged := now.Screen != last.Screen || now.Outcome != last.Outcome || now.Prefs.Lang != last.Prefs.Lang ||
			(now.Warn && !last.Warn) || now.Printer.Problem != last.Printer.Problem
		if a.gate == nil && d.Prefs.Speech && screenChanged {
			a.speaker.Say(d.Lang, d.Announce())
		}
		last = now
	}
}

// eventKeepAlive keeps idle event streams open through proxies; it is a
// comment line, the page does nothing on it.
const eventKeepAlive = 25 * time.Second

// events is a server-sent event stream: one "change" event whenever the
// page would look different, upon which the page's script fetches it.
func (a *Agent) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	// A page that reconnects after the agent restarted reloads at once.
	fmt.Fprint(w, "retry: 1000\n\n")
	flusher.Flush()
	keep := time.NewTicker(eventKeepAlive)
	defer keep.Stop()
	for n := 1; ; n++ {
		ch := a.uiChangedCh()
		select {
		case <-r.Context().Done():
			return
		case <-a.uiDone:
			return
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			n--
		case <-ch:
			fmt.Fprintf(w, "event: change\nid: %d\ndata: %d\n\n", n, n)
		}
		flusher.Flush()
	}
}

// StatusReport is GET /status: the device state and what the screen
// shows.
type StatusReport struct {
	DeviceStatus
	Screen   string    `json:"screen,omitempty"`
	Outcome  *Outcome  `json:"outcome,omitempty"`
	Gate     *Decision `json:"gate,omitempty"`
	ServerOK bool      `json:"server_ok"`
	Lang     string    `json:"lang,omitempty"`
	Warning  bool      `json:"idle_warning,omitempty"`
}

func (a *Agent) statusJSON(w http.ResponseWriter, r *http.Request) {
	rep := StatusReport{DeviceStatus: a.Status()}
	if a.gate != nil {
		if d, ok := a.gate.Last(); ok {
			rep.Gate = &d
		}
	} else {
		v := a.current()
		rep.Screen, rep.Outcome, rep.Lang, rep.Warning = v.Name, v.Outcome, v.Prefs.Lang, v.Warn
	}
	a.mu.Lock()
	rep.ServerOK = a.serverOK
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(rep)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: under no-referrer browsers send
		// "Origin: null" with the page's own form posts, which post refuses.
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}
