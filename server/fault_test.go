package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/internal/openapicheck"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/config"
)

// The fault tests run a rush of citizens against real processes, break
// Redis or PostgreSQL under it, and check what the server promises: every
// failure during the fault is a 503 with Retry-After and code
// "unavailable" (never a 500), service comes back once the store does,
// and afterwards PostgreSQL holds every booking a citizen was told about,
// each unit once, never more units than the slot has.

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// redisProcess is a redis-server of the test's own, without persistence,
// so a restart comes back empty.
type redisProcess struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startRedisProcess(t *testing.T) *redisProcess {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	p := &redisProcess{t: t, port: freePort(t), dir: t.TempDir()}
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *redisProcess) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

func (p *redisProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command("redis-server", "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--dir", p.dir, "--save", "", "--appendonly", "no")
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", p.addr()); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("redis-server on %s did not come up", p.addr())
}

// kill ends the process by its PID, as a crash would.
func (p *redisProcess) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	p.cmd.Wait()
	p.cmd = nil
}

// rushResult is what the citizens of a rush saw.
type rushResult struct {
	mu       sync.Mutex
	statuses map[string]int // "hold 201", "book 503", ...
	codes    []string       // booking codes answered with 201
	bad      []string       // answers the server must never give
	// wait returns once every citizen has stopped.
	wait func()
}

func (r *rushResult) note(step string, status int, hdr http.Header, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses[fmt.Sprintf("%s %d", step, status)]++
	switch {
	case status >= 500 && status != 503,
		status == 503 && (hdr.Get("Retry-After") == "" || !bytes.Contains(body, []byte(`"unavailable"`))):
		r.bad = append(r.bad, fmt.Sprintf("%s: %d %s", step, status, body))
	}
	if step == "book" && status == 201 {
		var b struct{ Code string }
		json.Unmarshal(body, &b)
		r.codes = append(r.codes, b.Code)
	}
}

func (r *rushResult) noteBad(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bad = append(r.bad, what)
}

func (r *rushResult) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.statuses[key]
}

// rush has workers citizens hold and book one unit of the pool slot at
// start, round-robin over the servers' URLs, until ctx ends.
func rush(ctx context.Context, urls []string, pool, start string, workers int) *rushResult {
	res := &rushResult{statuses: map[string]int{}}
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(url, body string) (int, http.Header, []byte, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		// Every answer of the rush must be as docs/openapi.yaml says too;
		// a mismatch is an answer the server must never give.
		if checker, err := openapicheck.Default(); err != nil {
			res.noteBad(err.Error())
		} else if err := checker.Check(req, []byte(body), resp.StatusCode, resp.Header, b); err != nil {
			res.noteBad(err.Error())
		}
		return resp.StatusCode, resp.Header, b, nil
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i++ {
				url := urls[i%len(urls)]
				status, hdr, body, err := post(url+"/api/v1/holds", `{"location":"`+pool+`","service":"erwachsene","start":"`+start+`"}`)
				if err != nil {
					continue // the rush is over
				}
				res.note("hold", status, hdr, body)
				if status != 201 {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				var h struct{ ID string }
				json.Unmarshal(body, &h)
				// Like a citizen's browser, retry the booking of the
				// same hold while the server answers 503, a while.
				for try := 0; try < 20 && ctx.Err() == nil; try++ {
					status, hdr, body, err = post(url+"/api/v1/bookings", fmt.Sprintf(`{"hold":%q,"name":"Erika Mustermann","email":"erika.%d.%d@example.org"}`, h.ID, w, i))
					if err != nil {
						break
					}
					res.note("book", status, hdr, body)
					if status != 503 {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	res.wait = wg.Wait
	return res
}

// checkBookings compares what the citizens were told with PostgreSQL.
func checkBookings(t *testing.T, dbURL, pool string, capacity int, res *rushResult) {
	t.Helper()
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range res.codes {
		var status string
		if err := db.Get(&status, `SELECT status FROM bookings WHERE code = $1`, c); err != nil || status != "confirmed" {
			t.Errorf("booking %s answered 201 but in PostgreSQL: %q %v", c, status, err)
		}
	}
	var rows struct {
		Bookings int `db:"bookings"`
		Units    int `db:"units"`
		Distinct int `db:"distinct_units"`
		Max      int `db:"max_unit"`
	}
	if err := db.Get(&rows, `
		SELECT (SELECT count(*) FROM bookings WHERE location_id = $1 AND status = 'confirmed') AS bookings,
			count(*) AS units, count(DISTINCT (cell_start, unit)) AS distinct_units, coalesce(max(unit), -1) AS max_unit
		FROM booking_units WHERE location_id = $1`, pool); err != nil {
		t.Fatal(err)
	}
	// A 503 on a commit whose outcome was lost may still have booked, so
	// PostgreSQL may hold more bookings than were answered 201, never fewer.
	if rows.Bookings < len(res.codes) || rows.Units != rows.Bookings || rows.Distinct != rows.Units || rows.Max >= capacity || rows.Units > capacity {
		t.Errorf("answered %d bookings; PostgreSQL has %d bookings, %d unit rows, %d distinct units, highest unit %d (capacity %d)",
			len(res.codes), rows.Bookings, rows.Units, rows.Distinct, rows.Max, capacity)
	}
	if len(res.bad) > 0 {
		t.Errorf("%d answers that must not happen, first: %s", len(res.bad), res.bad[0])
	}
}

// quietRedisLog drops go-redis's own log lines; while Redis is down it
// writes one per failed dial.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func TestRedisKilledDuringRush(t *testing.T) {
	redis.SetLogger(quietRedisLog{})
	rp := startRedisProcess(t)
	dbURL := servicetest.DatabaseURL(t, components...)
	s := launch(t, serverSetup{dbURL: dbURL, redisAddrs: []string{rp.addr()}, pool: "stadtbad"})
	start := s.poolSlot(t)
	ctx, cancel := context.WithCancel(context.Background())
	res := rush(ctx, []string{s.URL}, s.pool, start, 8)
	servicetest.Eventually(t, "bookings before the fault", 10*time.Second, func() bool { return res.count("book 201") >= 10 })

	rp.kill()
	servicetest.Eventually(t, "503 while redis is down", 10*time.Second, func() bool { return res.count("hold 503") >= 5 })
	down := res.count("book 201")
	time.Sleep(300 * time.Millisecond)
	rp.start() // empty: every hold and every loaded day is gone
	servicetest.Eventually(t, "bookings after the restart", 20*time.Second, func() bool { return res.count("book 201") >= down+10 })
	cancel()
	res.wait()

	checkBookings(t, dbURL, s.pool, 150, res)
	t.Logf("statuses %v", res.statuses)
	checkRebuilt(t, s, dbURL, start, 8+res.count("book 503"))
}

// checkRebuilt compares Redis's free units with PostgreSQL's booked ones:
// equal, but for at most held units still on hold (those the stopped
// citizens left behind, and those of bookings that failed after their
// claim, which lapse with the hold).
func checkRebuilt(t *testing.T, s *testServer, dbURL, start string, held int) {
	t.Helper()
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var booked int
	if err := db.Get(&booked, `SELECT count(*) FROM booking_units WHERE location_id = $1`, s.pool); err != nil {
		t.Fatal(err)
	}
	if got := s.free(t, start); got > 150-booked || got < 150-booked-held {
		t.Errorf("%d free after the rush with %d booked and up to %d held: want %d to %d",
			got, booked, held, 150-booked-held, 150-booked)
	}
}

func TestPostgresRestartedDuringRush(t *testing.T) {
	stack, s := launchOnStack(t)
	ctx := context.Background()
	start := s.poolSlot(t)
	rctx, cancel := context.WithCancel(ctx)
	res := rush(rctx, []string{s.URL}, s.pool, start, 8)
	servicetest.Eventually(t, "bookings before the fault", 10*time.Second, func() bool { return res.count("book 201") >= 10 })

	stack.run("pg-stop")
	servicetest.Eventually(t, "503 while postgres is down", 10*time.Second, func() bool { return res.count("book 503") >= 3 })
	down := res.count("book 201")
	stack.run("pg-start")
	servicetest.Eventually(t, "bookings after the restart", 20*time.Second, func() bool { return res.count("book 201") >= down+10 })
	cancel()
	res.wait()

	checkBookings(t, stack.env["DATABASE_URL"], s.pool, 150, res)
	t.Logf("statuses %v", res.statuses)
	checkRebuilt(t, s, stack.env["DATABASE_URL"], start, 8+res.count("book 503"))
}

// testStack is a PostgreSQL and Redis of the test's own, started by
// deploy/stack.sh, for faults that must not hit the shared ones.
type testStack struct {
	t   *testing.T
	dir string
	env map[string]string
}

func startStack(t *testing.T, extra ...string) *testStack {
	t.Helper()
	servicetest.DatabaseURL(t) // skips without the services, as every service test does
	// Not t.TempDir: the postgres user must be able to reach the
	// directory, and /tmp lets it.
	dir, err := os.MkdirTemp("", "termin-fault-")
	if err != nil {
		t.Fatal(err)
	}
	s := &testStack{t: t, dir: dir, env: map[string]string{}}
	t.Cleanup(func() {
		exec.Command("../deploy/stack.sh", "stop", dir).Run()
		os.RemoveAll(dir)
	})
	s.run("start")
	for _, cmd := range extra {
		s.run(cmd)
	}
	s.readEnv()
	return s
}

// readEnv reads the variables stack.sh wrote for the stack.
func (s *testStack) readEnv() {
	t := s.t
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
			s.env[k] = strings.Trim(v, "'")
		}
	}
}

// launchOnStack runs a server with flags on a PostgreSQL and Redis of
// its own, which the test may stop and start.
func launchOnStack(t *testing.T, flags ...string) (*testStack, *testServer) {
	t.Helper()
	stack := startStack(t)
	cfg, err := loadConfig([]string{"-db", stack.env["DATABASE_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	if err := runMigrate(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	s := launch(t, serverSetup{dbURL: stack.env["DATABASE_URL"], redisAddrs: []string{stack.env["REDIS_ADDR"]}, pool: "stadtbad", flags: flags})
	return stack, s
}

func (s *testStack) run(cmd string) {
	s.t.Helper()
	out, err := exec.Command("../deploy/stack.sh", cmd, s.dir).CombinedOutput()
	if err != nil {
		s.t.Fatalf("stack.sh %s: %v\n%s", cmd, err, out)
	}
}

// TestTwoServerProcessesShareOneSlot runs two server binaries on one Redis
// and one PostgreSQL, as two replicas behind a load balancer, and lets a
// rush race for one slot through both.
func TestTwoServerProcessesShareOneSlot(t *testing.T) {
	dbURL := servicetest.DatabaseURL(t, components...)
	redisAddr := servicetest.RedisAddrs(t)[0]
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A pool of its own on Redis database 0, which the servers use.
	pool := servicetest.RandomID("stadtbad-")
	cityFile := filepath.Join(t.TempDir(), "city.json")
	if err := os.WriteFile(cityFile, bytes.ReplaceAll(demoCity, []byte(`"id": "stadtbad"`), []byte(`"id": "`+pool+`"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runSeed(context.Background(), config.Config{DatabaseURL: dbURL, CityFile: cityFile}, nil); err != nil {
		t.Fatal(err)
	}
	var urls []string
	for i := 0; i < 2; i++ {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		cmd := exec.Command(bin, "serve", "-http", addr, "-db", dbURL, "-redis", redisAddr, "-warm-days", "2", "-log-level", "error", "-rate-limit=0", "-pow-auto=0")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		})
		urls = append(urls, "http://"+addr)
		servicetest.Eventually(t, "server "+addr, 20*time.Second, func() bool {
			res, err := http.Get("http://" + addr + "/healthz")
			if err == nil {
				res.Body.Close()
			}
			return err == nil && res.StatusCode == 200
		})
	}
	s := &testServer{URL: urls[0], pool: pool}
	start := s.poolSlot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := rush(ctx, urls, pool, start, 32)
	servicetest.Eventually(t, "the slot to fill", 60*time.Second, func() bool {
		return res.count("book 201") >= 150 && res.count("hold 409") >= 100
	})
	cancel()
	res.wait()
	t.Logf("statuses %v", res.statuses)
	if got := res.count("book 201"); got != 150 {
		t.Errorf("%d bookings answered 201 for 150 places", got)
	}
	checkBookings(t, dbURL, pool, 150, res)
	if got := s.free(t, start); got != 0 {
		t.Errorf("%d free after the rush, want 0", got)
	}
}

// TestPaymentRoutesUnavailableWhilePostgresIsDown: with PostgreSQL gone,
// the finance and payment routes answer 503 with Retry-After like the
// booking routes, never 500.
func TestPaymentRoutesUnavailableWhilePostgresIsDown(t *testing.T) {
	stack, s := launchOnStack(t, "-admin-api-key", testAdminKey, "-payment-platform", "epay21",
		"-payment-url", "http://127.0.0.1:1/epay21/soap", "-notify-secret", testNotifySecret)
	notify := `{"eventId":"ev-1","platformId":"p-1","reference":"ref-1","type":"payment.paid"}`
	requests := []struct {
		name, method, path, body string
		header                   []string
	}{
		{"finance postings", "GET", "/api/v1/finance/postings", "", []string{"Authorization", "Bearer " + testAdminKey}},
		{"finance payments", "GET", "/api/v1/finance/payments", "", []string{"Authorization", "Bearer " + testAdminKey}},
		{"payment return", "GET", "/api/v1/payments/ref-1/return", "", []string{"Accept", "application/json"}},
		{"payment notification", "POST", "/api/v1/payments/notifications", notify,
			[]string{payment.SignatureHeader, payment.SignNotification([]byte(testNotifySecret), []byte(notify))}},
		{"booking lookup", "GET", "/api/v1/bookings/ABCDEFGH", "", []string{"Authorization", "Bearer token"}},
	}
	for _, r := range requests {
		if res := s.do(t, r.method, r.path, r.body, r.header...); res.Status >= 500 {
			t.Fatalf("%s before the fault: %d %s", r.name, res.Status, res.Body)
		}
	}
	stack.run("pg-stop")
	for _, r := range requests {
		t.Run(r.name, func(t *testing.T) {
			res := s.do(t, r.method, r.path, r.body, r.header...)
			if res.Status != 503 || res.Header.Get("Retry-After") == "" || errorCode(t, res) != "unavailable" {
				t.Fatalf("postgres down: %d %v %s", res.Status, res.Header, res.Body)
			}
		})
	}
}
