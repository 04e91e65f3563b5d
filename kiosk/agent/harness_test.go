package agent_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/kiosk/agent"
	"github.com/digitale-verwaltung/termin/kiosk/serialdev"
	"github.com/digitale-verwaltung/termin/kiosk/simhw"
	paymentpg "github.com/digitale-verwaltung/termin/payment/postgres"
)

// The real server binary, built once per test run.
var (
	serverOnce sync.Once
	serverBin  string
	serverErr  error
	binDir     string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func buildServer(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() {
		binDir, serverErr = os.MkdirTemp("", "kiosk-test-server-")
		if serverErr != nil {
			return
		}
		serverBin = filepath.Join(binDir, "server")
		cmd := exec.Command("go", "build", "-o", serverBin, "github.com/digitale-verwaltung/termin/server")
		out, err := cmd.CombinedOutput()
		if err != nil {
			serverErr = fmt.Errorf("go build ./server: %v\n%s", err, out)
		}
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return serverBin
}

const adminKey = "test-admin-key"

// server is the termin server running as a subprocess on its own fresh
// database, stoppable and restartable on the same port.
type server struct {
	t    testing.TB
	URL  string
	db   *sqlx.DB
	env  []string
	bin  string
	cmd  *exec.Cmd
	logs *os.File
}

func startServer(t testing.TB) *server {
	t.Helper()
	dbURL := servicetest.DatabaseURL(t, bookingpg.Migrations, paymentpg.Migrations)
	redisAddr := servicetest.RedisAddrs(t)[0]
	bin := buildServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logs, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, URL: "http://" + addr, bin: bin, logs: logs, env: append(os.Environ(),
		"CITY_FILE="+openAllDay(t),
		"DATABASE_URL="+dbURL, "REDIS_ADDR="+redisAddr, "HTTP_ADDR="+addr, "ADMIN_API_KEY="+adminKey,
		// Tickets for tomorrow's pool slots admit today: generous windows
		// instead of a moved clock in a separate process.
		"GATE_EARLY=48h", "GATE_LATE=30m", "LOG_LEVEL=warn")}
	if out, err := s.command("seed").CombinedOutput(); err != nil {
		t.Fatalf("server seed: %v\n%s", err, out)
	}
	s.db, err = sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		s.db.Close()
		logs.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("server log:\n%s", b)
		}
	})
	s.Start()
	return s
}

// openAllDay writes the demo city with the office open around the clock
// every day: walk-ins are drawn only while it is open, and the tests run
// at any hour.
func openAllDay(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "server", "democity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var city struct {
		Locations []map[string]any `json:"locations"`
	}
	if err := json.Unmarshal(b, &city); err != nil {
		t.Fatal(err)
	}
	for _, l := range city.Locations {
		if l["id"] == office {
			l["hours"] = []map[string]any{{"days": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, "opens": "00:00", "closes": "24:00"}}
			l["closed_on_holidays"], l["closures"] = false, []any{}
		}
	}
	path := filepath.Join(t.TempDir(), "city.json")
	if b, err = json.Marshal(city); err == nil {
		err = os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func (s *server) command(args ...string) *exec.Cmd {
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	return cmd
}

// Start runs the server and waits until it answers.
func (s *server) Start() {
	s.t.Helper()
	s.cmd = s.command("serve")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.URL + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("server did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the server process this test started.
func (s *server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// do sends a request and decodes a JSON answer into out.
func (s *server) do(method, path, body string, out any, header ...string) int {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
	}
	return res.StatusCode
}

// signingKey is the key the server signs QR codes with.
func (s *server) signingKey() ed25519.PrivateKey {
	s.t.Helper()
	k, err := bookingpg.New(s.db).SigningKey(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return k
}

type bookingOut struct {
	Code  string    `json:"code"`
	QR    string    `json:"qr"`
	Start time.Time `json:"start"`
}

// book books one unit of the first slot with room in the next days, through
// the public API, and returns the booking with its QR payload.
func (s *server) book(location, service string) bookingOut {
	s.t.Helper()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	from := time.Now().In(berlin).AddDate(0, 0, 1).Format(time.DateOnly)
	to := time.Now().In(berlin).AddDate(0, 0, 8).Format(time.DateOnly)
	var av struct {
		Slots []struct {
			Start time.Time `json:"start"`
			Free  int       `json:"free"`
		} `json:"slots"`
	}
	s.do("GET", "/api/v1/availability?location="+location+"&service="+service+"&from="+from+"&to="+to, "", &av)
	for _, slot := range av.Slots {
		if slot.Free == 0 {
			continue
		}
		var hold struct{ ID string }
		if s.do("POST", "/api/v1/holds", fmt.Sprintf(`{"location":%q,"service":%q,"start":%q}`, location, service, slot.Start.Format(time.RFC3339)), &hold) != 201 {
			continue
		}
		var b bookingOut
		if code := s.do("POST", "/api/v1/bookings", `{"hold":"`+hold.ID+`","name":"Erika Mustermann","email":"erika@example.org"}`, &b); code != 201 || b.QR == "" {
			s.t.Fatalf("booking: %d %+v", code, b)
		}
		return b
	}
	s.t.Fatalf("no free slot for %s/%s: %+v", location, service, av)
	return bookingOut{}
}

// appointmentNow writes a confirmed appointment that starts now. The
// office may be closed while the tests run, so it cannot be booked through
// the API; check-in only looks at the record.
func (s *server) appointmentNow(location, service string) bookingOut {
	s.t.Helper()
	code := randomCode()
	start := time.Now().Truncate(time.Minute)
	_, err := s.db.Exec(`INSERT INTO bookings (code, hold_id, manage_token_hash, location_id, service_id, start_at, end_at, unit_indexes, name, email, status, calendar_uid)
		VALUES ($1, $2, '\x00', $3, $4, $5, $6, '{0}', 'Max Mustermann', 'max@example.org', 'confirmed', $7)`,
		code, "test-"+code, location, service, start, start.Add(20*time.Minute), "test-"+code+"@termin")
	if err != nil {
		s.t.Fatal(err)
	}
	qr := booking.SignTicket(s.signingKey(), booking.TicketClaims{Code: code, Location: location, Service: service,
		Start: start.Unix(), End: start.Add(20 * time.Minute).Unix(), Units: 1})
	return bookingOut{Code: code, QR: qr, Start: start}
}

func randomCode() string {
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = crockford[int(b[i])%len(crockford)]
	}
	return string(b)
}

// deviceStatus returns the status the server has for a device.
func (s *server) deviceStatus(id string) json.RawMessage {
	s.t.Helper()
	var ds []struct {
		ID     string          `json:"id"`
		Status json.RawMessage `json:"status"`
	}
	s.do("GET", "/api/v1/admin/devices", "", &ds, "Authorization", "Bearer "+adminKey)
	for _, d := range ds {
		if d.ID == id {
			return d.Status
		}
	}
	s.t.Fatalf("device %s not listed", id)
	return nil
}

// rig is an agent on simulated hardware.
type rig struct {
	t       testing.TB
	agent   *agent.Agent
	device  agent.Device
	printer *simhw.Printer
	scanner *simhw.Scanner
	relay   *simhw.RelayBoard
	stop    func()
}

type rigOptions struct {
	location, mode string
	tweak          func(*agent.Config)
}

func usbID(u simhw.USB) *serialdev.USBID {
	return &serialdev.USBID{VID: u.VID, PID: u.PID, Serial: u.Serial}
}

// newRig registers a device, plugs in simulated hardware and starts an
// agent that enrolls itself with the code.
func newRig(t testing.TB, s *server, o rigOptions) *rig {
	t.Helper()
	ctx := context.Background()
	dev, code, err := agent.RegisterDevice(ctx, s.URL, adminKey, o.location, "Test "+o.mode, o.mode)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, device: dev}
	if r.printer, err = simhw.NewPrinter(simhw.PrinterOptions{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	if r.scanner, err = simhw.NewScanner(simhw.ScannerOptions{Prefix: "]Q1"}); err != nil {
		t.Fatal(err)
	}
	if r.relay, err = simhw.NewRelayBoard(simhw.RelayOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := agent.Defaults()
	cfg.Server, cfg.EnrollCode, cfg.StateDir, cfg.Listen = s.URL, code, t.TempDir(), "127.0.0.1:0"
	cfg.Printer.USB, cfg.Scanner.USB = usbID(simhw.DefaultPrinterUSB), usbID(simhw.DefaultScannerUSB)
	if o.mode == "gate" {
		cfg.Relay.USB = usbID(simhw.DefaultRelayUSB)
	}
	cfg.ScannerAIM = true
	cfg.Enumerate = simhw.Ports(r.printer.Device, r.scanner.Device, r.relay.Device)
	cfg.RetryInterval = 50 * time.Millisecond
	cfg.Heartbeat, cfg.StatusPoll, cfg.UploadBackoff = 300*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
	cfg.RelayPulse = 50 * time.Millisecond
	cfg.ScannerDebounce = 100 * time.Millisecond
	if o.tweak != nil {
		o.tweak(&cfg)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := agent.New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	r.agent = a
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.Run(actx); close(done) }()
	r.stop = func() {
		cancel()
		<-done
		r.printer.Close()
		r.scanner.Close()
		r.relay.Close()
	}
	t.Cleanup(r.stop)
	return r
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// status fetches the agent's /status.
func (r *rig) status() agent.StatusReport {
	r.t.Helper()
	var st agent.StatusReport
	res, err := http.Get(r.agent.URL() + "status")
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		r.t.Fatal(err)
	}
	return st
}

// page fetches the local page's HTML.
func (r *rig) page() string {
	r.t.Helper()
	res, err := http.Get(r.agent.URL())
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// post submits a form of the local page, as a touch on a button does.
func (r *rig) post(path string, form url.Values) {
	r.t.Helper()
	res, err := http.PostForm(r.agent.URL()+strings.TrimPrefix(path, "/"), form)
	if err != nil {
		r.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		r.t.Fatalf("POST %s: %d", path, res.StatusCode)
	}
}

// eventually polls cond until it holds or the time is up.
