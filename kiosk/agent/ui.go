package agent

import (
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"time"
)

//go:embed ui/*.html
var uiFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"clock": func(t time.Time, tz *time.Location) string { return t.In(tz).Format("15:04") },
	"deref": func(t *time.Time) time.Time { return *t },
}).ParseFS(uiFiles, "ui/*.html"))

// Screens of a counter kiosk.
const (
	screenHome        = "home"
	screenAppointment = "appointment"
	screenServices    = "services"
	screenResult      = "result"
)

// screen is what the kiosk's display shows. There is one display, so the
// state lives in the agent and a scan can change it at any time.
type screen struct {
	Name    string
	Outcome *Outcome
	Since   time.Time
}

func (a *Agent) show(o Outcome) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scr = screen{Name: screenResult, Outcome: &o, Since: time.Now()}
}

func (a *Agent) setScreen(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scr = screen{Name: name, Since: time.Now()}
}

// current returns the screen, falling back to the start screen after a
// while so the next visitor does not see the previous one's number.
func (a *Agent) current() screen {
	a.mu.Lock()
	defer a.mu.Unlock()
	timeout := 90 * time.Second
	if a.scr.Name == screenResult {
		timeout = a.cfg.ResultScreen
	}
	if a.scr.Name == "" || time.Since(a.scr.Since) > timeout {
		a.scr = screen{Name: screenHome, Since: time.Now()}
	}
	return a.scr
}

type pageData struct {
	Screen   string
	Location string
	Services []Service
	Outcome  *Outcome
	Printer  PrinterState
	Status   DeviceStatus
	ServerOK bool
	Refresh  int
	TZ       *time.Location
	Gate     *Decision
	GateOpen bool
}

// Handler serves the local page and a JSON status at /status.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.page)
	mux.HandleFunc("GET /status", a.statusJSON)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	if a.mode == "counter" {
		mux.HandleFunc("POST /appointment", a.post(func(r *http.Request) { a.setScreen(screenAppointment) }))
		mux.HandleFunc("POST /services", a.post(func(r *http.Request) { a.setScreen(screenServices) }))
		mux.HandleFunc("POST /home", a.post(func(r *http.Request) { a.setScreen(screenHome) }))
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
	}
	return securityHeaders(mux)
}

func (a *Agent) post(f func(*http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The page posts to itself; refuse forms from anywhere else.
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		f(r)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

func (a *Agent) page(w http.ResponseWriter, r *http.Request) {
	st := a.Status()
	a.mu.Lock()
	d := pageData{Location: a.sc.Location.Name, Services: a.sc.Services, ServerOK: a.serverOK, TZ: a.tz}
	a.mu.Unlock()
	d.Status, d.Printer = st, st.Printer
	name := "counter.html"
	if a.gate != nil {
		name = "gate.html"
		d.Refresh = 1
		if last, ok := a.gate.Last(); ok && time.Since(last.At) < 30*time.Second {
			d.Gate = &last
		}
	} else {
		scr := a.current()
		d.Screen, d.Outcome = scr.Name, scr.Outcome
		switch scr.Name {
		case screenAppointment:
			d.Refresh = 0 // a visitor may be typing a code
		case screenServices:
			d.Refresh = 10
		default:
			d.Refresh = 2
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		a.log.Error("render kiosk page", "err", err)
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
}

func (a *Agent) statusJSON(w http.ResponseWriter, r *http.Request) {
	rep := StatusReport{DeviceStatus: a.Status()}
	if a.gate != nil {
		if d, ok := a.gate.Last(); ok {
			rep.Gate = &d
		}
	} else {
		scr := a.current()
		rep.Screen, rep.Outcome = scr.Name, scr.Outcome
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
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
