package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// runScript runs one of the operations scripts in deploy/ with env added.
func runScript(t *testing.T, env []string, script string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join("..", "deploy", script), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestBackupAndRestore: deploy/backup.sh dumps a database with paid
// bookings and their postings; a tampered dump is refused;
// deploy/restore.sh restores the dump into a fresh database, where every
// booking and posting is found; and a server started on the restored
// database with an empty Redis rebuilds the availability from it.
func TestBackupAndRestore(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	start := s.poolSlot(t)
	var codes []string
	for _, units := range []int{2, 3} {
		b := s.book(t, start, units)
		s.pay(t, b.Payment.Reference, true)
		codes = append(codes, b.Code)
	}
	s.work(t)
	if n := s.count(t, `SELECT count(*) FROM postings`); n != 2 {
		t.Fatalf("%d postings before the backup, want 2", n)
	}
	freeBefore := s.free(t, start)

	dir := t.TempDir()
	out, err := runScript(t, []string{"DATABASE_URL=" + s.deps.cfg.DatabaseURL}, "backup.sh", dir)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	dump := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if _, err := os.Stat(dump + ".sha256"); err != nil {
		t.Fatalf("backup wrote no checksum: %v (%s)", err, out)
	}

	restored := servicetest.DatabaseURL(t)
	// An empty database: not even the migration record.
	empty, err := sqlx.Open("postgres", restored)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Exec(`DROP TABLE schema_migrations`); err != nil {
		t.Fatal(err)
	}
	empty.Close()
	// A dump that changed after the backup is refused and restores nothing.
	tampered := filepath.Join(t.TempDir(), filepath.Base(dump))
	data, _ := os.ReadFile(dump)
	data[len(data)/2] ^= 0xff
	os.WriteFile(tampered, data, 0o600)
	sum, _ := os.ReadFile(dump + ".sha256")
	os.WriteFile(tampered+".sha256", sum, 0o600)
	if out, err := runScript(t, []string{"DATABASE_URL=" + restored}, "restore.sh", tampered); err == nil || !strings.Contains(out, "checksum") {
		t.Fatalf("a tampered dump was restored: %v\n%s", err, out)
	}
	if out, err := runScript(t, []string{"DATABASE_URL=" + restored}, "restore.sh", dump); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	// Restoring over a database that has tables is refused.
	if out, err := runScript(t, []string{"DATABASE_URL=" + restored}, "restore.sh", dump); err == nil || !strings.Contains(out, "empty") {
		t.Fatalf("restore over a full database: %v\n%s", err, out)
	}

	rdb := servicetest.Redis(t)
	forgetPool(t, rdb, "stadtbad")
	r := launch(t, serverSetup{dbURL: restored, redisAddrs: []string{rdb.Options().Addr}, rdb: rdb, pool: "stadtbad"})
	var got []string
	if err := r.deps.db.Select(&got, `SELECT code FROM bookings WHERE status = $1 ORDER BY code`, booking.StatusConfirmed); err != nil {
		t.Fatal(err)
	}
	slices.Sort(codes)
	if !slices.Equal(got, codes) {
		t.Errorf("confirmed bookings after the restore %v, want %v", got, codes)
	}
	var postings int
	if err := r.deps.db.Get(&postings, `SELECT count(*) FROM postings p JOIN payments y ON y.reference = p.payment_reference`); err != nil {
		t.Fatal(err)
	}
	if postings != 2 {
		t.Errorf("%d postings with their payments after the restore, want 2", postings)
	}
	if free := r.free(t, start); free != freeBefore {
		t.Errorf("the restored server offers %d free places, before the backup %d: Redis not rebuilt from the database", free, freeBefore)
	}
}
