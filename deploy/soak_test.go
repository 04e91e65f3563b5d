package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSoak runs make soak for twenty seconds: it must pass (no errors, no
// growth), write its report and leave no process it started behind. It
// takes a few minutes with the builds, so it runs only with
// TERMIN_SOAK_TEST=1, not in make test.
func TestSoak(t *testing.T) {
	if os.Getenv("TERMIN_SOAK_TEST") != "1" {
		t.Skip("set TERMIN_SOAK_TEST=1 to run make soak for 20 s")
	}
	if !servicesInstalled() {
		t.Fatal("PostgreSQL or Redis is not installed")
	}
	for _, tool := range []string{"make", "curl", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("make soak needs %s", tool)
		}
	}
	dir := t.TempDir()
	if os.Getuid() == 0 {
		// PostgreSQL runs as the postgres user and must reach its data
		// directory through the temporary one.
		_ = os.Chmod(filepath.Dir(dir), 0o755)
		_ = os.Chmod(dir, 0o755)
	}
	report := filepath.Join(t.TempDir(), "soak.md")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "-C", "..", "soak")
	cmd.Env = append(os.Environ(), "SOAK_DURATION=20s", "SOAK_DIR="+dir, "SOAK_OUT="+report)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	defer func() {
		// Whatever happened, leave nothing running.
		for pid := range processesUnder(dir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = exec.Command("./stack.sh", "stop", dir).Run()
	}()
	if err != nil {
		t.Fatalf("make soak: %v\n%s", err, out)
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, out)
	}
	for _, want := range []string{"no growth beyond noise, and no errors", "| resident memory (RSS)", "| goroutines",
		"| PostgreSQL backends (pg_stat_activity)", "| Redis clients (INFO clients)", "| kiosk walk-in |", "| staff call |",
		"| payment return |", "| cancel |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if left := processesUnder(dir); len(left) > 0 {
		t.Errorf("make soak left processes behind: %v", left)
	}
}
