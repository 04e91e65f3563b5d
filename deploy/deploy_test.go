// Package deploy holds the tests of the operations scripts in this
// directory; the scripts themselves are shell.
package deploy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// aptGetCall finds apt-get in command position: at the start of a line, or
// after a command word such as env or sudo, or after a separator.
var aptGetCall = regexp.MustCompile(`(^|[\s;&|(])apt-get\s`)

// TestAptGetWaitsForTheDpkgLock: an installation that runs while another
// holds the dpkg lock waits for it instead of failing at once, so every
// apt-get call in the scripts carries DPkg::Lock::Timeout.
func TestAptGetWaitsForTheDpkgLock(t *testing.T) {
	scripts, err := filepath.Glob("*.sh")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts found: %v", err)
	}
	calls := 0
	for _, script := range scripts {
		b, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if strings.HasPrefix(strings.TrimSpace(line), "#") || !aptGetCall.MatchString(line) {
				continue
			}
			calls++
			if !strings.Contains(line, "DPkg::Lock::Timeout=") {
				t.Errorf("%s:%d: apt-get without -o DPkg::Lock::Timeout: %s", script, n, strings.TrimSpace(line))
			}
		}
	}
	if calls == 0 {
		t.Fatal("no apt-get call found; the test no longer looks at the right scripts")
	}
}

// servicesInstalled reports whether PostgreSQL and Redis can be started
// here without installing them.
func servicesInstalled() bool {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return false
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		return true
	}
	_, err := exec.LookPath("initdb")
	return err == nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// processesUnder lists the live processes whose command line or working
// directory lies under dir: what run.sh started there (the server, the
// simulators, PostgreSQL, Redis, which chdirs into its --dir).
func processesUnder(dir string) map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// A zombie has ended; its parent just has not reaped it yet.
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		line := string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}))
		if strings.Contains(line, dir) || cwd == dir || strings.HasPrefix(cwd, dir+"/") {
			out[pid] = line
		}
	}
	return out
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return !(i > 0 && len(stat) > i+2 && stat[i+2] == 'Z')
}

// syncBuffer collects a process's output for reading while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestRunStopsEverythingOnEverySignal starts deploy/run.sh again and again
// and stops it with Ctrl-C (SIGINT to its process group, as a terminal
// sends it), SIGTERM to the script and SIGTERM to its whole process group;
// each time it must say it stopped, remove its pid file and leave no
// process it started behind.
func TestRunStopsEverythingOnEverySignal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole demo several times")
	}
	if !servicesInstalled() {
		if os.Getenv("TERMIN_REQUIRE_SERVICES") == "1" {
			t.Fatal("PostgreSQL or Redis is not installed")
		}
		t.Skip("PostgreSQL or Redis is not installed")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("run.sh needs curl")
	}
	runDir := t.TempDir()
	if os.Getuid() == 0 {
		// PostgreSQL runs as the postgres user and must reach its data
		// directory through the temporary one.
		_ = os.Chmod(filepath.Dir(runDir), 0o755)
		_ = os.Chmod(runDir, 0o755)
	}
	rounds := 3
	if s := os.Getenv("RUN_STOP_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	group := func(sig syscall.Signal) func(int) error {
		return func(pid int) error { return syscall.Kill(-pid, sig) }
	}
	ways := []struct {
		name string
		// cmd starts the demo: run.sh itself, or make run, which on
		// SIGTERM passes another SIGTERM on to run.sh while run.sh is
		// already cleaning up after the group's.
		cmd []string
		// after is the line of output the signal follows: the demo is up,
		// or PostgreSQL and Redis are and the binaries are being built
		// (a stop while the script waits for a foreground command).
		after  string
		signal func(pid int) error
	}{
		{"SIGINT to the group", []string{"./run.sh"}, "termin is running.", group(syscall.SIGINT)},
		{"SIGTERM to the script", []string{"./run.sh"}, "termin is running.", func(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }},
		{"SIGTERM to the group", []string{"./run.sh"}, "termin is running.", group(syscall.SIGTERM)},
		{"SIGTERM to the group while starting", []string{"./run.sh"}, "Building ...", group(syscall.SIGTERM)},
		{"SIGTERM to the group of make run", []string{"make", "-s", "-C", "..", "run"}, "termin is running.", group(syscall.SIGTERM)},
	}
	for round := 1; round <= rounds; round++ {
		for _, way := range ways {
			t.Run(fmt.Sprintf("%s/%d", way.name, round), func(t *testing.T) {
				if way.cmd[0] == "make" {
					if _, err := exec.LookPath("make"); err != nil {
						t.Skip("make is not installed")
					}
				}
				runOnce(t, runDir, way.cmd, way.after, way.signal)
			})
			if t.Failed() {
				return
			}
		}
	}
}

func runOnce(t *testing.T, runDir string, command []string, after string, signal func(pid int) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(),
		"RUN_DIR="+runDir, "HTTP_ADDR="+freeAddr(t), "KIOSK_LISTEN="+freeAddr(t), "PAYSIM_ADDR="+freeAddr(t))
	// Its own process group, as a shell gives a foreground job.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	defer func() {
		// Whatever happened, leave nothing running.
		if !exited {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		_ = exec.Command("./stack.sh", "stop", runDir).Run()
	}()

	up := false
	for !up {
		if up = strings.Contains(out.String(), after); up {
			break
		}
		select {
		case err := <-done:
			exited = true
			t.Fatalf("run.sh ended before it was up (%v):\n%s", err, out)
		case <-ctx.Done():
			t.Fatalf("run.sh did not come up:\n%s", out)
		case <-time.After(100 * time.Millisecond):
		}
	}
	started := processesUnder(runDir)
	for _, f := range []string{"pg/data/postmaster.pid", "redis/redis.pid"} {
		pid := readPID(filepath.Join(runDir, f))
		if alive(pid) {
			started[pid] = f
		} else if after == "termin is running." {
			t.Fatalf("%s names no running process:\n%s", f, out.String())
		}
	}
	if err := signal(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		exited = true
	case <-ctx.Done():
		t.Fatalf("run.sh did not stop:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "termin stopped.") {
		t.Errorf("run.sh did not say it stopped:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(runDir, "run.pid")); err == nil {
		t.Error("run.pid is left behind")
	}
	// PostgreSQL finishes its shutdown on its own after pg_ctl returned.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []string
		for pid, what := range started {
			if alive(pid) {
				left = append(left, fmt.Sprintf("%d %s", pid, what))
			}
		}
		for pid, what := range processesUnder(runDir) {
			if _, known := started[pid]; !known {
				left = append(left, fmt.Sprintf("%d %s", pid, what))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes run.sh started are still running:\n%s\n%s", strings.Join(left, "\n"), out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
