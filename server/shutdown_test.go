package main

import (
	"bufio"
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
	"syscall"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/server/config"
)

// TestShutdownDrains runs the server binary, starts requests whose bodies
// arrive slowly, sends SIGTERM in the middle of them, and checks the
// drain: no new connection is taken, every open request gets its answer,
// the workers stop, the process exits 0 well within SHUTDOWN_TIMEOUT, and
// the log says nothing was cut.
func TestShutdownDrains(t *testing.T) {
	dbURL := servicetest.DatabaseURL(t, components...)
	redisAddr := servicetest.RedisAddrs(t)[0]
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pool := servicetest.RandomID("stadtbad-")
	cityFile := filepath.Join(t.TempDir(), "city.json")
	writeCity(t, cityFile, pool)
	if err := runSeed(context.Background(), config.Config{DatabaseURL: dbURL, CityFile: cityFile}, nil); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	const timeout = 10 * time.Second
	cmd := exec.Command(bin, "serve", "-http", addr, "-db", dbURL, "-redis", redisAddr, "-warm-days", "2",
		"-log-level", "info", "-log-format", "json", "-rate-limit=0", "-pow-auto=0",
		"-shutdown-timeout", timeout.String(), "-ticket-keys-reload", "200ms", "-activation-sweep", "200ms", "-retention-every", "200ms")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	servicetest.Eventually(t, "server answers", 30*time.Second, func() bool {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil && res.StatusCode == 200
	})
	slots := freePoolSlots(t, base, pool, 3)

	// Each slow request sends its headers and the first part of its body
	// now and the rest after the signal.
	type answer struct {
		status int
		body   string
		err    error
	}
	const slow = 3
	answers := make(chan answer, slow)
	started := make(chan struct{}, slow)
	release := make(chan struct{})
	for i := 0; i < slow; i++ {
		body := fmt.Sprintf(`{"location":%q,"service":"erwachsene","start":%q}`, pool, slots[i])
		go func() {
			status, got, err := slowPost(addr, "/api/v1/holds", body, started, release)
			answers <- answer{status, got, err}
		}()
	}
	for i := 0; i < slow; i++ {
		<-started
	}
	// An idle keep-alive connection must not hold the drain up.
	idle := &http.Client{Transport: &http.Transport{}}
	if res, err := idle.Get(base + "/healthz"); err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}

	// The call display's event stream, open across the signal.
	streamRes, err := http.Get(base + "/display/buergeramt-koblenz/events")
	if err != nil || streamRes.StatusCode != 200 {
		t.Fatalf("event stream: %v %v", streamRes, err)
	}
	defer streamRes.Body.Close()
	stream := bufio.NewReader(streamRes.Body)
	readEvent := func() string {
		for {
			line, err := stream.ReadString('\n')
			if err != nil {
				return "end: " + err.Error()
			}
			if strings.HasPrefix(line, "event: ") {
				return strings.TrimSpace(strings.TrimPrefix(line, "event: "))
			}
		}
	}
	if ev := readEvent(); ev != "queue" {
		t.Fatalf("first event %q", ev)
	}
	streamEnd := make(chan string, 1)
	go func() {
		last := readEvent()
		if ev := readEvent(); ev != "end: EOF" {
			last += " then " + ev
		}
		streamEnd <- last
	}()

	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	servicetest.Eventually(t, "listener closed", 5*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case <-exited:
		t.Fatalf("the server exited with requests open: %v", exitErr)
	case <-time.After(time.Second):
	}
	select {
	case last := <-streamEnd:
		if last != "close" {
			t.Errorf("the stream ended with %q, want a close event and its end", last)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the event stream stayed open after the signal")
	}
	close(release)
	for i := 0; i < slow; i++ {
		a := <-answers
		if a.err != nil || a.status != 201 {
			t.Errorf("slow request across the shutdown: %d %v %s", a.status, a.err, a.body)
		}
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("server exit: %v", exitErr)
		}
	case <-time.After(timeout + 5*time.Second):
		t.Fatalf("the server did not exit within the shutdown timeout")
	}
	if took := time.Since(signalled); took > timeout {
		t.Errorf("drain took %s, over the timeout of %s", took, timeout)
	}

	// Nothing goes wrong at all, and from the signal on nothing even
	// warns (a cut request, a cancelled round, a store closed under a
	// worker).
	var drained, draining bool
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		draining = draining || strings.HasPrefix(line.Msg, "shutting down")
		if line.Level == "ERROR" || draining && line.Level == "WARN" {
			t.Errorf("logged: %s", sc.Text())
		}
		drained = drained || line.Msg == "drained"
	}
	if !drained {
		t.Errorf("no drained line in the log")
	}
}

// slowPost sends a POST whose body arrives in two parts: the first at
// once (then started is signalled), the rest once release is closed.
func slowPost(addr, path, body string, started chan<- struct{}, release <-chan struct{}) (int, string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		started <- struct{}{}
		return 0, "", err
	}
	defer c.Close()
	half := len(body) / 2
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, addr, len(body), body[:half])
	started <- struct{}{}
	<-release
	if _, err := io.WriteString(c, body[half:]); err != nil {
		return 0, "", err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

// freePoolSlots returns the starts of n pool slots with room, tomorrow or
// later.
func freePoolSlots(t *testing.T, base, pool string, n int) []string {
	t.Helper()
	from := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	to := time.Now().AddDate(0, 0, 8).Format(time.DateOnly)
	res, err := http.Get(base + "/api/v1/availability?location=" + pool + "&service=erwachsene&from=" + from + "&to=" + to)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var av struct {
		Slots []struct {
			Start time.Time `json:"start"`
			Free  int       `json:"free"`
		} `json:"slots"`
	}
	if err := json.NewDecoder(res.Body).Decode(&av); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range av.Slots {
		if s.Free > 0 && len(out) < n {
			out = append(out, s.Start.Format(time.RFC3339))
		}
	}
	if len(out) < n {
		t.Fatalf("not %d free pool slots: %+v", n, av)
	}
	return out
}

func writeCity(t *testing.T, path, pool string) {
	t.Helper()
	city := bytes.ReplaceAll(demoCity, []byte(`"id": "stadtbad"`), []byte(`"id": "`+pool+`"`))
	if err := os.WriteFile(path, city, 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer collects a process's output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
