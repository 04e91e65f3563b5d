// Package browsertest runs pages in a headless Chromium for tests and
// checks them with axe-core. Chromium comes from the system's packages,
// axe-core from npm; deploy/browser.sh installs both (make test runs it).
// Without them the tests skip, unless TERMIN_REQUIRE_SERVICES is set, as
// make test does, in which case they fail.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// WCAGTags are the axe-core rule tags checked: WCAG 2.0 and 2.1, levels A
// and AA.
var WCAGTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// Browser is one headless Chromium process; every Tab is a page in it.
type Browser struct {
	alloc context.Context
	axe   string
}

// Options shape the browser window.
type Options struct {
	// Width and Height of the window in CSS pixels; 1280×1024 (a 5:4
	// kiosk screen) when zero.
	Width, Height int
}

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + "; deploy/browser.sh install installs it"
	if os.Getenv("TERMIN_REQUIRE_SERVICES") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// ChromiumPath finds the browser: TERMIN_CHROMIUM, else chromium on PATH.
func ChromiumPath() (string, error) {
	if p := os.Getenv("TERMIN_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium is not installed")
}

// AxePath finds axe.min.js: TERMIN_AXE_JS, else .cache/npm in the module
// root above the working directory.
func AxePath() (string, error) {
	if p := os.Getenv("TERMIN_AXE_JS"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".cache", "npm", "node_modules", "axe-core", "axe.min.js")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("axe-core is not installed in %s", filepath.Dir(p))
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start launches Chromium, stopped when the test ends. It skips the test
// (or fails it under TERMIN_REQUIRE_SERVICES) when Chromium or axe-core is
// missing.
func Start(t testing.TB, o Options) *Browser {
	t.Helper()
	exe, err := ChromiumPath()
	if err != nil {
		missing(t, "%v", err)
	}
	axePath, err := AxePath()
	if err != nil {
		missing(t, "%v", err)
	}
	axe, err := os.ReadFile(axePath)
	if err != nil {
		missing(t, "axe-core: %v", err)
	}
	if o.Width == 0 {
		o.Width, o.Height = 1280, 1024
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	b := &Browser{alloc: alloc, axe: string(axe)}
	// Start the process now, so a broken installation fails here.
	ctx, cancelTab := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		t.Fatalf("start %s: %v", exe, err)
	}
	t.Cleanup(cancelTab)
	b.alloc = ctx
	return b
}

// Tab opens a new page, closed when the test ends. Every action on it is
// bounded by timeout.
func (b *Browser) Tab(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(b.alloc)
	t.Cleanup(cancel)
	// The first Do opens the tab; it must not carry the timeout, which
	// would close the tab when it expires.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(tab, timeout)
	t.Cleanup(cancelTimeout)
	return ctx
}

// Violation is one failed axe-core rule.
type Violation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target         []any  `json:"target"`
		HTML           string `json:"html"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %v %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.FailureSummary, "\n", "; "))
	}
	return b.String()
}

// Axe injects axe-core into the tab's current page and returns the
// violations of the WCAG 2.0/2.1 A and AA rules.
func (b *Browser) Axe(ctx context.Context) ([]Violation, error) {
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		return nil, fmt.Errorf("axe: %w", err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](b.axe+";true")); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	tags, _ := json.Marshal(WCAGTags)
	script := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}, resultTypes: ["violations"]}).then(r => r.violations)`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](script, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("axe.run: %w", err)
	}
	return out, nil
}

// CheckAxe fails the test for every violation, naming the state checked.
func (b *Browser) CheckAxe(t testing.TB, ctx context.Context, state string) {
	t.Helper()
	vs, err := b.Axe(ctx)
	if err != nil {
		t.Fatalf("%s: %v", state, err)
	}
	for _, v := range vs {
		t.Errorf("%s: %s", state, v)
	}
}

// Screenshot writes a PNG of the whole page to path.
func Screenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}
