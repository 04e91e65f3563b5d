package web

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/digitale-verwaltung/termin/internal/browsertest"
)

// Every finance and statistics page, and the forms with their errors, in
// the browser on fakes: axe-core in both languages. (The flow on the real
// stack, uploading the simulator's files, is in server/finance_test.go.)
func TestFinanceAndStatisticsPagesInBrowser(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{Width: 1280, Height: 900})
	app := financeApp(t, &ledgerFake{}, writeExports(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	base := "http://" + ln.Addr().String()
	pages := []struct{ path, page string }{
		{"/intern/kasse", "staff_finance"},
		{"/intern/kasse/zahlungen", "staff_finance_payments"},
		{"/intern/kasse/zahlungen?von=gestern&status=x", "staff_finance_payments"},
		{"/intern/kasse/zahlungen/TRMREF1", "staff_finance_payment"},
		{"/intern/kasse/buchungen", "staff_finance_postings"},
		{"/intern/kasse/termine/8TM9CPXR", "staff_finance_booking"},
		{"/intern/kasse/exporte", "staff_finance_exports"},
		{"/intern/kasse/abgleich", "staff_finance_reconciliations"},
		{"/intern/kasse/abgleich/1", "staff_finance_run"},
		{"/intern/kasse/erstattungen", "staff_finance_refunds"},
		{"/intern/kasse/erstattungen?status=erledigt&erledigt=5", "staff_finance_refunds"},
		{"/intern/kasse/fehler", "staff_finance_deadletters"},
		{"/intern/kasse/fehler?erneut=7", "staff_finance_deadletters"},
		{"/intern/statistik", "staff_stats"},
		{"/intern/statistik?von=2030-01-09&bis=2030-01-01", "staff_stats"},
		{"/intern/statistik/belegung", "staff_stats_occupancy"},
		{"/intern/statistik/morgen", "staff_stats_tomorrow"},
	}
	for _, lang := range []string{"de", "en"} {
		t.Run(lang, func(t *testing.T) {
			ctx := b.Tab(t, 90*time.Second)
			do := func(steps ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, steps...); err != nil {
					t.Fatal(err)
				}
			}
			do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
				if err != nil {
					return chromedp.Void{}, err
				}
				_, err = cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: staffCookie, Value: testSession, URL: base + "/intern"})
				return chromedp.Void{}, err
			})
			for _, p := range pages {
				do(chromedp.Navigate(base+p.path), chromedp.WaitReady(chromedp.CSS(`body[data-page="`+p.page+`"]`)))
				b.CheckAxe(t, ctx, p.path+" "+lang)
			}
			// The upload form without files shows its errors next to the fields.
			do(chromedp.Navigate(base+"/intern/kasse/abgleich"), chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_finance_reconciliations"]`)),
				chromedp.Click(chromedp.CSS(`form[enctype] button[type=submit]`)), chromedp.WaitReady(chromedp.CSS(`#settlement-error`)))
			b.CheckAxe(t, ctx, "upload errors "+lang)
		})
	}
}
