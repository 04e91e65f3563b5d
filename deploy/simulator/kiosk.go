package main

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/kiosk/agent"
	"github.com/digitale-verwaltung/termin/kiosk/serialdev"
	"github.com/digitale-verwaltung/termin/kiosk/simhw"
	"github.com/digitale-verwaltung/termin/printer"
)

// simFlags are the options of `simulator kiosk` itself; every other flag
// goes to the agent.
type simFlags struct {
	location, name, tickets, adminKey string
}

// splitSimFlags takes -sim-location, -sim-name, -sim-tickets and
// -admin-key (in -flag=value or -flag value form) out of args.
func splitSimFlags(args []string) (simFlags, []string, error) {
	sf := simFlags{location: "buergeramt-koblenz", name: "Simulierter Kiosk", tickets: "tickets", adminKey: os.Getenv("ADMIN_API_KEY")}
	dst := map[string]*string{"sim-location": &sf.location, "sim-name": &sf.name, "sim-tickets": &sf.tickets, "admin-key": &sf.adminKey}
	var rest []string
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		p, ok := dst[name]
		if !ok || !strings.HasPrefix(args[i], "-") {
			rest = append(rest, args[i])
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return sf, nil, fmt.Errorf("flag -%s needs a value", name)
			}
			i++
			value = args[i]
		}
		*p = value
	}
	return sf, rest, nil
}

// runKiosk runs the agent on simulated hardware: a printer that renders
// every ticket to a PNG, a scanner fed from a form on /sim/, and in gate
// mode a relay board.
func runKiosk(ctx context.Context, args []string) error {
	sf, rest, err := splitSimFlags(args)
	if err != nil {
		return err
	}
	cfg, err := agent.LoadConfig(rest, os.LookupEnv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	prn, err := simhw.NewPrinter(simhw.PrinterOptions{Dir: sf.tickets, Logger: log, PaperWidth: paperDots(cfg.PrinterWidthMM)})
	if err != nil {
		return err
	}
	defer prn.Close()
	scn, err := simhw.NewScanner(simhw.ScannerOptions{})
	if err != nil {
		return err
	}
	defer scn.Close()
	devs := []*simhw.Device{prn.Device, scn.Device}
	var relay *simhw.RelayBoard
	if cfg.Mode == "gate" {
		if relay, err = simhw.NewRelayBoard(simhw.RelayOptions{}); err != nil {
			return err
		}
		defer relay.Close()
		devs = append(devs, relay.Device)
		cfg.Relay.USB = usbID(simhw.DefaultRelayUSB)
	}
	cfg.Printer.USB, cfg.Scanner.USB = usbID(simhw.DefaultPrinterUSB), usbID(simhw.DefaultScannerUSB)
	cfg.Enumerate = simhw.Ports(devs...)

	if cfg.Token == "" && cfg.EnrollCode == "" {
		if _, err := os.Stat(filepath.Join(cfg.StateDir, "token")); err != nil {
			if sf.adminKey == "" {
				return fmt.Errorf("no device token in %s: set ADMIN_API_KEY (or -admin-key) to register the simulated kiosk, or pass -enroll", cfg.StateDir)
			}
			mode := cfg.Mode
			if mode == "" {
				mode = "counter"
			}
			rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			d, code, err := agent.RegisterDevice(rctx, cfg.Server, sf.adminKey, sf.location, sf.name, mode)
			cancel()
			if err != nil {
				return fmt.Errorf("register simulated kiosk: %w", err)
			}
			log.Info("simulated kiosk registered", "device", d.ID, "location", d.Location)
			cfg.EnrollCode = code
		}
	}
	s := &simUI{printer: prn, scanner: scn, relay: relay, tickets: sf.tickets}
	cfg.WrapUI = s.wrap
	a, err := agent.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Printf("kiosk page: %s\nsimulated hardware: %ssim/\nprinted tickets: %s\n", a.URL(), a.URL(), sf.tickets)
	return a.Run(ctx)
}

func usbID(u simhw.USB) *serialdev.USBID {
	return &serialdev.USBID{VID: u.VID, PID: u.PID, Serial: u.Serial}
}

func paperDots(mm int) int {
	if mm == 58 {
		return printer.Paper58mm
	}
	return printer.Paper80mm
}

// simUI adds /sim/: scan a code, run the printer out of paper, unplug a
// device, look at the printed tickets.
type simUI struct {
	printer *simhw.Printer
	scanner *simhw.Scanner
	relay   *simhw.RelayBoard
	tickets string
}

var simPage = template.Must(template.New("sim").Parse(`<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>Simulierte Hardware / Simulated hardware</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:50rem} button,input{font:inherit;padding:.4rem} img{border:1px solid #999;margin:.5rem;max-width:20rem}</style></head>
<body><h1>Simulierte Hardware <span lang="en">/ Simulated hardware</span></h1>
<p><a href="/">Zur Kiosk-Seite <span lang="en">/ to the kiosk page</span></a></p>
<form method="post" action="/sim/scan"><label for="code">Code scannen <span lang="en">/ scan a code</span></label>
<input id="code" name="code" size="60"> <button>Scannen / Scan</button></form>
<form method="post" action="/sim/device">
<p>Drucker <span lang="en">/ printer</span>: {{if .PrinterPlugged}}verbunden{{else}}getrennt{{end}}
<button name="do" value="paper-out">Papier leer / paper out</button> <button name="do" value="paper-ok">Papier ok / paper ok</button>
<button name="do" value="printer-unplug">Trennen / unplug</button> <button name="do" value="printer-replug">Verbinden / replug</button></p>
<p>Scanner: {{if .ScannerPlugged}}verbunden{{else}}getrennt{{end}}
<button name="do" value="scanner-unplug">Trennen / unplug</button> <button name="do" value="scanner-replug">Verbinden / replug</button></p>
{{if .Relay}}<p>Relais <span lang="en">/ relay</span>: {{.Pulses}} Impulse / pulses</p>{{end}}
</form>
<h2>Gedruckte Tickets <span lang="en">/ printed tickets</span></h2>
{{range .Images}}<img src="/sim/tickets/{{.}}" alt="Ticket {{.}}">{{else}}<p>Noch keine. <span lang="en">None yet.</span></p>{{end}}
</body></html>`))

func (s *simUI) wrap(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("GET /sim/{$}", s.page)
	mux.Handle("GET /sim/tickets/", http.StripPrefix("/sim/tickets/", http.FileServer(http.Dir(s.tickets))))
	mux.HandleFunc("POST /sim/scan", func(w http.ResponseWriter, r *http.Request) {
		if c := strings.TrimSpace(r.PostFormValue("code")); c != "" {
			_ = s.scanner.Scan(c)
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /sim/device", func(w http.ResponseWriter, r *http.Request) {
		switch r.PostFormValue("do") {
		case "paper-out":
			s.printer.SetStatus(simhw.PaperOut())
		case "paper-ok":
			s.printer.SetStatus(printer.Status{})
		case "printer-unplug":
			_ = s.printer.Unplug()
		case "printer-replug":
			_ = s.printer.Replug()
		case "scanner-unplug":
			_ = s.scanner.Unplug()
		case "scanner-replug":
			_ = s.scanner.Replug()
		}
		http.Redirect(w, r, "/sim/", http.StatusSeeOther)
	})
	return mux
}

func (s *simUI) page(w http.ResponseWriter, r *http.Request) {
	var imgs []string
	for _, p := range s.printer.Images() {
		imgs = append(imgs, filepath.Base(p))
	}
	d := map[string]any{"PrinterPlugged": s.printer.Plugged(), "ScannerPlugged": s.scanner.Plugged(), "Images": imgs, "Relay": s.relay != nil}
	if s.relay != nil {
		d["Pulses"] = len(s.relay.Pulses())
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	simPage.Execute(w, d)
}
