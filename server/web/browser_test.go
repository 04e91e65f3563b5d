package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/internal/browsertest"
)

// The pages that light up once the booking core can move bookings and
// send manage links again, in the browser on fakes: axe-core in both
// languages on every state. (The flows on the real stack are in
// server/web_test.go.)
func TestMoveAndFindPagesInBrowser(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{Width: 390, Height: 844})
	f := &fakes{}
	h := &Handler{Catalog: f, Reservations: f, Bookings: f, Rescheduler: f, Finder: &finder{}, Activator: f, Key: []byte("k"), SigningKey: testSigningKey,
		Now: func() time.Time { return fakeNow }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	app := fiber.New()
	h.Routes(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	base := "http://" + ln.Addr().String()

	for _, lang := range []string{"de", "en"} {
		t.Run(lang, func(t *testing.T) {
			ctx := b.Tab(t, 60*time.Second)
			do := func(steps ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, steps...); err != nil {
					t.Fatal(err)
				}
			}
			do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
				return chromedp.Void{}, err
			})
			page := func(name string) {
				t.Helper()
				do(chromedp.WaitReady(chromedp.CSS(`body[data-page="` + name + `"]:not([data-stale])`)))
			}
			click := func(sel, next string) {
				t.Helper()
				if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.stale = "1"; ""`)); err != nil {
					t.Fatal(err)
				}
				do(chromedp.Click(chromedp.CSS(sel)))
				if next != "" {
					page(next)
				}
			}
			do(chromedp.Navigate(base + "/termin/CODE1234?t=tok"))
			page("booking")
			b.CheckAxe(t, ctx, "manage with move "+lang)
			click(`a[href$="/verschieben"]`, "days")
			b.CheckAxe(t, ctx, "move days "+lang)
			click(`ul.days a`, "times")
			click(`.times input`, "")
			click(`button.primary`, "move")
			b.CheckAxe(t, ctx, "move review "+lang)
			click(`#move-confirm`, "booking")
			if _, n := f.state(); n == 0 {
				t.Fatal("not moved")
			}
			f.setStatus(statusPendingActivation)
			do(chromedp.Navigate(base + "/termin/CODE1234"))
			page("booking")
			b.CheckAxe(t, ctx, "pending activation "+lang)
			click(`a[href$="/aktivieren"]`, "activate")
			b.CheckAxe(t, ctx, "activate "+lang)
			click(`#activate-confirm`, "booking")
			if st, _ := f.state(); st != "confirmed" {
				t.Fatal("not activated")
			}
			do(chromedp.Navigate(base + "/termin/suchen"))
			page("find")
			b.CheckAxe(t, ctx, "find "+lang)
			click(`button.primary`, "find")
			b.CheckAxe(t, ctx, "find errors "+lang)
			do(chromedp.SendKeys(chromedp.CSS(`#code`), "CODE1234"), chromedp.SendKeys(chromedp.CSS(`#email`), "erika@example.org"))
			click(`button.primary`, "find")
			txt, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
			if !strings.Contains(txt, map[string]string{"de": "Spam", "en": "spam"}[lang]) {
				t.Fatalf("sent page: %s", txt)
			}
			b.CheckAxe(t, ctx, "find sent "+lang)
		})
	}
}
