// Package agent is the kiosk agent: it enrolls the device, keeps the
// printer, scanner and relay open across unplugging, reports heartbeats,
// serves the local touch page of a counter kiosk and decides entrance
// scans at a gate.
package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // kiosks may lack a zoneinfo database

	"go.bug.st/serial"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/kiosk/gate"
	"github.com/digitale-verwaltung/termin/kiosk/scanner"
	"github.com/digitale-verwaltung/termin/kiosk/serialdev"
	"github.com/digitale-verwaltung/termin/kiosk/ticketprinter"
	"github.com/digitale-verwaltung/termin/printer"
)

// Version is reported in heartbeats; set at build time with
// -ldflags "-X github.com/digitale-verwaltung/termin/kiosk/agent.Version=…".
var Version = "dev"

// State dir files.
const (
	tokenFile       = "token"
	configCacheFile = "server-config.json"
	storeFile       = "redemptions.jsonl"
)

// Agent runs one kiosk or gate.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	client *Client
	sc     ServerConfig
	keys   booking.TicketKeys
	tz     *time.Location
	mode   string
	ln     net.Listener

	printerPort *serialdev.Reconnecting
	printer     *ticketprinter.Client
	scannerPort *serialdev.Reconnecting
	relayPort   *serialdev.Reconnecting
	gate        *Gate
	store       *Store

	hbKick chan struct{}

	// speaker speaks the counter page; uiChanged is closed and replaced
	// whenever the page would look different, waking its event streams;
	// uiDone ends them when the page server shuts down.
	speaker   *Speaker
	uiChanged chan struct{}
	uiDone    chan struct{}

	mu       sync.Mutex
	pst      printer.Status
	pstErr   error
	pstKnown bool
	// printFault is a ticket the printer could not print as laid out
	// (a QR too large for the paper), kept until a print succeeds, so
	// staff see it in the device status; "" when the last print worked.
	printFault string
	serverOK   bool
	lastHBErr  string
	scr        screen
}

// New enrolls the device if needed, loads its configuration from the
// server (or the cache in the state dir when the server is unreachable),
// and opens the local page's listener. Devices are opened by Run.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	a := &Agent{cfg: cfg, log: log, hbKick: make(chan struct{}, 1), uiChanged: make(chan struct{}), uiDone: make(chan struct{})}
	a.scr = a.startScreen()
	var err error
	if a.speaker, err = NewSpeaker(cfg.SpeechCommand, log); err != nil {
		return nil, err
	}
	token, err := a.token(ctx)
	if err != nil {
		return nil, err
	}
	a.client = NewClient(cfg.Server, token)
	if err := a.loadServerConfig(ctx); err != nil {
		return nil, err
	}
	if err := a.openDevices(); err != nil {
		return nil, err
	}
	if cfg.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			a.closeDevices()
			return nil, fmt.Errorf("local page: %w", err)
		}
		a.ln = ln
	}
	return a, nil
}

// token returns the device token: configured, stored, or obtained with
// the enrollment code and then stored.
func (a *Agent) token(ctx context.Context) (string, error) {
	if a.cfg.Token != "" {
		return a.cfg.Token, nil
	}
	path := statePath(a.cfg.StateDir, tokenFile)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if a.cfg.EnrollCode == "" {
		return "", fmt.Errorf("no device token in %s: start once with -enroll CODE (from POST /api/v1/admin/devices)", path)
	}
	c := NewClient(a.cfg.Server, "")
	for wait := time.Second; ; wait = min(wait*2, 30*time.Second) {
		token, d, err := c.Enroll(ctx, a.cfg.EnrollCode)
		if err == nil {
			if err := writeFileAtomic(path, []byte(token+"\n"), 0o600); err != nil {
				return "", fmt.Errorf("store device token: %w", err)
			}
			a.log.Info("device enrolled", "device", d.ID, "location", d.Location, "mode", d.Mode)
			return token, nil
		}
		if ae, ok := IsAPIError(err); ok && ae.Status < 500 {
			return "", fmt.Errorf("enroll: %w", err)
		}
		a.log.Warn("enroll: server unreachable, retrying", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
	}
}

// loadServerConfig fetches /kiosk/config, falling back to the cached copy.
func (a *Agent) loadServerConfig(ctx context.Context) error {
	path := statePath(a.cfg.StateDir, configCacheFile)
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	sc, err := a.client.Config(fctx)
	cancel()
	if err == nil {
		b, _ := json.MarshalIndent(sc, "", "  ")
		if werr := writeFileAtomic(path, b, 0o600); werr != nil {
			a.log.Warn("cache server config", "err", werr)
		}
		a.serverOK = true
	} else {
		if ae, ok := IsAPIError(err); ok && ae.Status == http.StatusUnauthorized {
			return fmt.Errorf("server rejects the device token: %w", err)
		}
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return fmt.Errorf("server config: %w (and no cached copy: %v)", err, rerr)
		}
		if jerr := json.Unmarshal(b, &sc); jerr != nil {
			return fmt.Errorf("cached server config %s: %w", path, jerr)
		}
		a.log.Warn("server unreachable, using the cached configuration", "err", err)
	}
	return a.applyServerConfig(sc)
}

func (a *Agent) applyServerConfig(sc ServerConfig) error {
	keys, err := ticketKeysOf(sc)
	if err != nil {
		return err
	}
	tz, err := time.LoadLocation(sc.Location.Timezone)
	if err != nil {
		tz, _ = time.LoadLocation("Europe/Berlin")
	}
	mode := a.cfg.Mode
	if mode == "" {
		mode = sc.Device.Mode
	}
	if mode != "counter" && mode != "gate" {
		return fmt.Errorf("device mode %q: want counter or gate", mode)
	}
	if a.cfg.Mode != "" && sc.Device.Mode != "" && a.cfg.Mode != sc.Device.Mode {
		a.log.Warn("mode differs from the device's registration", "configured", a.cfg.Mode, "registered", sc.Device.Mode)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sc, a.keys, a.tz, a.mode = sc, keys, tz, mode
	if a.gate != nil {
		a.gate.SetKeys(keys)
		a.gate.Early, a.gate.Late = a.gateWindows()
		if sc.RevokedAt != nil {
			a.gate.SetRevoked(sc.Revoked)
		}
	}
	return nil
}

func (a *Agent) gateWindows() (early, late time.Duration) {
	early, late = a.cfg.GateEarly, a.cfg.GateLate
	if early == 0 {
		early = time.Duration(a.sc.GateEarlySeconds) * time.Second
	}
	if late == 0 {
		late = time.Duration(a.sc.GateLateSeconds) * time.Second
	}
	return early, late
}

// openDevices sets up the reconnecting ports; they open lazily.
func (a *Agent) openDevices() error {
	ro := serialdev.ReconnectOptions{RetryInterval: a.cfg.RetryInterval, Logger: a.log}
	if a.cfg.Printer.Configured() {
		a.printerPort = serialdev.NewReconnecting(a.cfg.Printer.SerialConfig(a.cfg.Enumerate), ro)
		width := printer.Paper80mm
		if a.cfg.PrinterWidthMM == 58 {
			width = printer.Paper58mm
		}
		profile := a.cfg.printerProfile()
		a.log.Info("printer profile", "profile", profile.Name)
		a.printer = ticketprinter.New(a.printerPort, ticketprinter.Options{Encoder: printer.Options{PaperWidth: width, Profile: profile}})
	}
	if a.cfg.Scanner.Configured() {
		a.scannerPort = serialdev.NewReconnecting(a.cfg.Scanner.SerialConfig(a.cfg.Enumerate), ro)
	}
	if a.mode != "gate" {
		return nil
	}
	store, err := OpenStore(statePath(a.cfg.StateDir, storeFile), 14*24*time.Hour)
	if err != nil {
		return err
	}
	a.store = store
	var relay gate.Relay
	if a.cfg.Relay.Configured() {
		a.relayPort = serialdev.NewReconnecting(a.cfg.Relay.SerialConfig(a.cfg.Enumerate), ro)
		if a.cfg.RelayLine != "" {
			line := gate.DTR
			if a.cfg.RelayLine == "rts" {
				line = gate.RTS
			}
			relay = &gate.ModemLineRelay{Port: modemLines{a.relayPort}, Line: line, ActiveLow: a.cfg.RelayActiveLow}
		} else {
			relay = &gate.CommandRelay{W: a.relayPort, On: a.cfg.RelayOn, Off: a.cfg.RelayOff}
		}
	}
	early, late := a.gateWindows()
	a.gate = &Gate{
		Store: store, Client: a.client, Location: a.sc.Location.ID,
		Early: early, Late: late, OnlineWait: a.cfg.GateOnlineWait, Relay: relay, Pulse: a.cfg.RelayPulse,
		Now: a.cfg.Now, Log: a.log, Backoff: a.cfg.UploadBackoff,
	}
	a.gate.SetRevoked(a.sc.Revoked)
	a.gate.SetKeys(a.keys)
	return nil
}

func (a *Agent) closeDevices() {
	for _, p := range []*serialdev.Reconnecting{a.printerPort, a.scannerPort, a.relayPort} {
		if p != nil {
			p.Close()
		}
	}
	if a.store != nil {
		a.store.Close()
	}
}

// modemLines sets DTR/RTS on the current port of a reconnecting device.
type modemLines struct{ r *serialdev.Reconnecting }

func (m modemLines) SetDTR(v bool) error {
	return m.with(func(p serial.Port) error { return p.SetDTR(v) })
}
func (m modemLines) SetRTS(v bool) error {
	return m.with(func(p serial.Port) error { return p.SetRTS(v) })
}

func (m modemLines) with(f func(serial.Port) error) error {
	p, err := m.r.Port()
	if err != nil {
		return err
	}
	return f(p)
}

// DeviceToken is the token the agent authenticates with.
func (a *Agent) DeviceToken() string { return a.client.token }

// Mode is counter or gate.
func (a *Agent) Mode() string { a.mu.Lock(); defer a.mu.Unlock(); return a.mode }

// Gate is the gate of a gate-mode agent, else nil.
func (a *Agent) Gate() *Gate { return a.gate }

// URL is the local page's address, empty when it is disabled.
func (a *Agent) URL() string {
	if a.ln == nil {
		return ""
	}
	return "http://" + a.ln.Addr().String() + "/"
}

// Run runs the agent until ctx ends, then closes the devices.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	goRun := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	var srv *http.Server
	if a.ln != nil {
		h := a.Handler()
		if a.cfg.WrapUI != nil {
			h = a.cfg.WrapUI(h)
		}
		srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		srv.RegisterOnShutdown(func() { close(a.uiDone) })
		go func() {
			if err := srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("local page stopped", "err", err)
			}
		}()
		a.log.Info("kiosk page", "url", a.URL(), "mode", a.mode)
	}
	if a.scannerPort != nil {
		goRun(a.scanLoop)
	}
	if a.printer != nil {
		goRun(a.statusLoop)
	}
	if a.gate != nil {
		goRun(a.gate.RunUploader)
	}
	goRun(a.speaker.Run)
	goRun(a.uiLoop)
	if a.cfg.HeadsetInput != "" && a.gate == nil {
		goRun(a.headsetLoop)
	}
	goRun(a.heartbeatLoop)
	<-ctx.Done()
	if srv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		srv.Shutdown(sctx)
		scancel()
	}
	// Closing the ports unblocks pending reads and status queries.
	a.closeDevices()
	wg.Wait()
	return nil
}

// scanLoop reads codes and handles each: a check-in at a counter, an
// entrance decision at a gate.
func (a *Agent) scanLoop(ctx context.Context) {
	r := scanner.NewReader(a.scannerPort, scanner.Config{
		Suffix: a.cfg.ScannerSuffix, AIM: a.cfg.ScannerAIM, Debounce: a.cfg.ScannerDebounce,
		Transient: func(err error) bool { return errors.Is(err, serialdev.ErrDisconnected) },
	})
	for {
		code, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Error("scanner stopped", "err", err)
			}
			return
		}
		a.HandleScan(ctx, code.Text)
	}
}

// HandleScan acts on one scanned code.
func (a *Agent) HandleScan(ctx context.Context, text string) {
	if a.gate != nil {
		a.gate.Decide(ctx, text)
		return
	}
	a.CheckIn(ctx, text)
}

// statusLoop polls the printer so the screen and the server learn of an
// empty roll before the next visitor does.
func (a *Agent) statusLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.StatusPoll)
	defer t.Stop()
	for {
		a.pollPrinter(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollPrinter asks the printer for its status and records it.
func (a *Agent) pollPrinter(ctx context.Context) (printer.Status, error) {
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	st, err := a.printer.Status(qctx)
	if ctx.Err() != nil {
		return st, err
	}
	a.notePrinter(st, err)
	return st, err
}

// notePrinter records a printer status and reports a change at once.
func (a *Agent) notePrinter(st printer.Status, err error) {
	a.mu.Lock()
	before := printerSummary(a.pst, a.pstErr, a.pstKnown)
	a.pst, a.pstErr, a.pstKnown = st, err, true
	after := printerSummary(st, err, true)
	a.mu.Unlock()
	if before != after {
		a.log.Info("printer status", "paper", after.Paper, "online", after.Online, "connected", after.Connected, "problem", after.Problem)
		a.KickHeartbeat()
	}
}

// PrinterState is the printer part of a heartbeat.
type PrinterState struct {
	Configured bool   `json:"configured"`
	Connected  bool   `json:"connected"`
	Online     bool   `json:"online"`
	Paper      string `json:"paper"` // ok, near_end, out or unknown
	CoverOpen  bool   `json:"cover_open"`
	Problem    string `json:"problem,omitempty"`
	// PrintFault is why the last ticket could not be printed although
	// the printer is fine: qr_too_large or qr_too_long.
	PrintFault string `json:"print_fault,omitempty"`
}

func printerSummary(st printer.Status, err error, known bool) PrinterState {
	ps := PrinterState{Configured: true, Paper: "unknown"}
	if !known {
		return ps
	}
	if err != nil {
		ps.Problem = "not_connected"
		return ps
	}
	ps.Connected = true
	ps.Online = !st.Offline
	ps.CoverOpen = st.CoverOpen
	switch {
	case st.PaperEnd || st.PaperEndStop:
		ps.Paper, ps.Problem = "out", "paper_out"
	case st.PaperNearEnd:
		ps.Paper = "near_end"
	default:
		ps.Paper = "ok"
	}
	switch {
	case ps.Problem != "":
	case st.CoverOpen:
		ps.Problem = "cover_open"
	case st.Err() != nil:
		ps.Problem = "error"
	}
	return ps
}

// DeviceStatus is what a heartbeat reports.
type DeviceStatus struct {
	Mode    string       `json:"mode"`
	Printer PrinterState `json:"printer"`
	Scanner struct {
		Configured bool `json:"configured"`
		Connected  bool `json:"connected"`
	} `json:"scanner"`
	Relay *struct {
		Connected bool `json:"connected"`
	} `json:"relay,omitempty"`
	PendingUploads *int `json:"pending_uploads,omitempty"`
}

// Status returns the device's current state.
func (a *Agent) Status() DeviceStatus {
	var s DeviceStatus
	a.mu.Lock()
	// The mode is rewritten (unchanged) when the server's config is
	// picked up again.
	s.Mode = a.mode
	if a.printer != nil {
		s.Printer = printerSummary(a.pst, a.pstErr, a.pstKnown)
		s.Printer.PrintFault = a.printFault
	}
	a.mu.Unlock()
	if a.scannerPort != nil {
		s.Scanner.Configured, s.Scanner.Connected = true, a.scannerPort.Connected()
	}
	if a.relayPort != nil {
		s.Relay = &struct {
			Connected bool `json:"connected"`
		}{a.relayPort.Connected()}
	}
	if a.store != nil {
		n := len(a.store.Pending(1 << 20))
		s.PendingUploads = &n
	}
	return s
}

// KickHeartbeat sends a heartbeat now.
func (a *Agent) KickHeartbeat() {
	select {
	case a.hbKick <- struct{}{}:
	default:
	}
}

func (a *Agent) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.Heartbeat)
	defer t.Stop()
	for n := 0; ; n++ {
		if a.relayPort != nil {
			// The relay is only written to on a pulse: open it here so an
			// unplugged board shows up in the heartbeat.
			_, _ = a.relayPort.Port()
		}
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := a.client.Heartbeat(hctx, Version, a.Status())
		cancel()
		if ctx.Err() != nil {
			return
		}
		a.noteServer(err)
		if err == nil && n%20 == 19 {
			// Now and then pick up a changed name, service list or key.
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if sc, err := a.client.Config(cctx); err == nil {
				if err := a.applyServerConfig(sc); err == nil {
					b, _ := json.MarshalIndent(sc, "", "  ")
					_ = writeFileAtomic(statePath(a.cfg.StateDir, configCacheFile), b, 0o600)
				}
			}
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.hbKick:
		}
	}
}

func (a *Agent) noteServer(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, answered := IsAPIError(err)
	a.serverOK = err == nil || answered
	a.lastHBErr = ""
	if err != nil {
		a.lastHBErr = err.Error()
		a.log.Warn("heartbeat failed", "err", err)
	}
}

func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ticketKeysOf decodes the keys of the server's configuration: every key
// still valid, or, from a server of before key rotation, its one key.
func ticketKeysOf(sc ServerConfig) (booking.TicketKeys, error) {
	decode := func(s string) (ed25519.PublicKey, error) {
		pub, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("server config: public key %q is not an Ed25519 key", s)
		}
		return pub, nil
	}
	if len(sc.Keys) == 0 {
		pub, err := decode(sc.PublicKey)
		if err != nil {
			return nil, err
		}
		return booking.TicketKeys{{ID: booking.FirstTicketKeyID, Public: pub, Active: true}}, nil
	}
	keys := make(booking.TicketKeys, 0, len(sc.Keys))
	for _, k := range sc.Keys {
		pub, err := decode(k.PublicKey)
		if err != nil {
			return nil, err
		}
		tk := booking.TicketKey{ID: k.ID, Public: pub, Active: k.Active}
		if k.VerifyUntil != nil {
			tk.VerifyUntil = *k.VerifyUntil
		}
		keys = append(keys, tk)
	}
	return keys, nil
}
