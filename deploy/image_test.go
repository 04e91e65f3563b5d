package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// buildah runs buildah on the storage make image uses.
func buildah(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "buildah", append([]string{"--storage-driver", "vfs"}, args...)...)
}

// refusesContainers reports whether buildah's output says the kernel or
// the sandbox refused to run a container, as opposed to the image or the
// program in it failing.
func refusesContainers(out []byte) bool {
	for _, s := range []string{"Operation not permitted", "permission denied", "cannot clone", "unshare"} {
		if bytes.Contains(out, []byte(s)) {
			return true
		}
	}
	return false
}

// TestServerImage: make image builds the server image from scratch without
// a registry; the image holds only the binary, CA certificates, tzdata and
// the passwd entry of an unprivileged user; and the server started from it
// migrates the test PostgreSQL, connects to the test Redis and answers
// /readyz and a page. Where the kernel refuses to run containers, the run
// is skipped with a message saying so (the build is still checked).
func TestServerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two images: not in -short")
	}
	dbURL := servicetest.DatabaseURL(t)
	redisAddr := servicetest.RedisAddrs(t)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	tag := servicetest.RandomID("test")
	build := exec.CommandContext(ctx, "./image.sh", tag)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	image := "localhost/termin-server:" + tag
	t.Cleanup(func() {
		buildah(context.Background(), "rmi", image, "localhost/termin-kiosk:"+tag, "localhost/termin-simulator:"+tag).Run()
	})

	var inspect struct {
		OCIv1 struct {
			Config struct {
				User       string
				Entrypoint []string
				Env        []string
			} `json:"config"`
		}
	}
	out, err := buildah(ctx, "inspect", "--type", "image", image).Output()
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	if err := json.Unmarshal(out, &inspect); err != nil {
		t.Fatalf("inspect: %v", err)
	}
	if cfg := inspect.OCIv1.Config; cfg.User != "65532:65532" || !slices.Equal(cfg.Entrypoint, []string{"/usr/local/bin/termin"}) {
		t.Errorf("image runs as %q with entrypoint %q, want 65532:65532 and the server", cfg.User, cfg.Entrypoint)
	}

	ctr, err := buildah(ctx, "from", "--quiet", image).Output()
	if err != nil {
		t.Fatalf("from: %v", err)
	}
	container := strings.TrimSpace(string(ctr))
	t.Cleanup(func() { buildah(context.Background(), "rm", container).Run() })
	checkImageFiles(t, ctx, container)

	addr := freeAddr(t)
	run := func(args ...string) *exec.Cmd {
		full := []string{"run", "--isolation", "chroot", "--network", "host", "--user", "65532:65532",
			"-e", "DATABASE_URL=" + dbURL, "-e", "REDIS_ADDR=" + redisAddr, "-e", "HTTP_ADDR=" + addr,
			"-e", "LOG_LEVEL=warn", "-e", "WARM_DAYS=1", container, "--", "/usr/local/bin/termin"}
		return buildah(ctx, append(full, args...)...)
	}
	if out, err := run("migrate").CombinedOutput(); err != nil {
		if refusesContainers(out) {
			t.Skipf("this kernel refuses to run containers (%s); the image was built and inspected, not run", strings.TrimSpace(string(out)))
		}
		t.Fatalf("migrate in the image: %v\n%s", err, out)
	}
	serve := run("serve")
	var logs bytes.Buffer
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { serve.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			serve.Process.Kill()
		}
	})
	get := func(path string) int {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	servicetest.Eventually(t, "the server in the image answers /readyz", 60*time.Second, func() bool { return get("/readyz") == 200 })
	if code := get("/"); code != 200 {
		t.Errorf("start page from the image: %d\n%s", code, logs.String())
	}
}

// checkImageFiles lists the container's root file system: nothing but the
// binary, the CA certificates, tzdata and passwd/group.
func checkImageFiles(t *testing.T, ctx context.Context, container string) {
	t.Helper()
	out, err := buildah(ctx, "mount", container).CombinedOutput()
	if err != nil {
		if refusesContainers(out) {
			t.Logf("cannot mount the container to list its files here: %s", bytes.TrimSpace(out))
			return
		}
		t.Fatalf("mount: %v\n%s", err, out)
	}
	defer buildah(context.Background(), "umount", container).Run()
	root := strings.TrimSpace(string(out))
	allowed := []string{"usr/local/bin/termin", "etc/passwd", "etc/group", "etc/ssl/certs/ca-certificates.crt"}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if !slices.Contains(allowed, rel) && !strings.HasPrefix(rel, "usr/share/zoneinfo/") {
			t.Errorf("the image holds %s, which it should not", rel)
		}
		return nil
	})
}
