package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/digitale-verwaltung/termin/internal/browsertest"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// staffTab is a browser tab on the staff pages in one language.
type staffTab struct {
	t    *testing.T
	b    *browsertest.Browser
	ctx  context.Context
	base string
	lang string
}

func newStaffTab(t *testing.T, b *browsertest.Browser, base, lang string) *staffTab {
	st := &staffTab{t: t, b: b, ctx: b.Tab(t, 2*time.Minute), base: base, lang: lang}
	accept := "de-DE,de;q=0.9"
	if lang == "en" {
		accept = "en-GB,en;q=0.9"
	}
	st.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": accept}})
		return chromedp.Void{}, err
	})
	return st
}

func (st *staffTab) do(steps ...chromedp.Action[chromedp.Void]) {
	st.t.Helper()
	if err := chromedp.Do(st.ctx, steps...); err != nil {
		loc, _ := chromedp.Run(st.ctx, chromedp.Location())
		body, _ := chromedp.Run(st.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		st.t.Fatalf("browser: %v; at %s:\n%s", err, loc, body)
	}
}

// open loads a page and waits for its template.
func (st *staffTab) open(path, page string) {
	st.t.Helper()
	st.do(chromedp.Navigate(st.base+path), chromedp.WaitReady(chromedp.CSS(`body[data-page="`+page+`"]`)))
}

func (st *staffTab) text(sel string) string {
	st.t.Helper()
	v, err := chromedp.Run(st.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		st.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// check runs axe-core on the page and, with -web.screenshots, writes the
// German page's screenshot as docs/screenshots/<shot>.png.
func (st *staffTab) check(state, shot string) {
	st.t.Helper()
	if got, _ := chromedp.Run(st.ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); got != st.lang {
		st.t.Fatalf("%s: lang %q, want %q", state, got, st.lang)
	}
	st.b.CheckAxe(st.t, st.ctx, state+"-"+st.lang)
	if *webScreenshots && shot != "" && st.lang == "de" {
		if err := browsertest.Screenshot(st.ctx, filepath.Join("..", "docs", "screenshots", shot+".png")); err != nil {
			st.t.Fatal(err)
		}
	}
}

// TestStaffPagesInBrowser walks the accounts area's pages in German and
// English, checks each with axe-core and shows the lockout message after
// failed logins.
func TestStaffPagesInBrowser(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{Width: 1280, Height: 900})
	s := startServer(t, "-staff-lockout-failures=3")
	s.staffAccount(t, "verwaltung", testPassword, auth.RoleAdmin)
	s.staffAccountAt(t, "schalter3", testPassword, "buergeramt-koblenz", auth.RoleDesk)
	s.staffAccount(t, "kasse", testPassword, auth.RoleFinance)
	for _, lang := range []string{"de", "en"} {
		t.Run(lang, func(t *testing.T) {
			st := newStaffTab(t, b, s.URL, lang)
			st.open("/intern", "staff_login")
			st.check("login", "staff-login")
			// A wrong password: the error summary and the field's message.
			st.do(chromedp.SendKeys(chromedp.CSS(`#login`), "verwaltung"), chromedp.SendKeys(chromedp.CSS(`#password`), "daneben-daneben"),
				chromedp.Submit(chromedp.CSS(`#password`)), chromedp.WaitReady(chromedp.CSS(`#error-summary`)))
			st.check("login-wrong", "")

			st.do(loginBrowser(s.URL, "verwaltung", testPassword)...)
			st.check("start", "")
			st.open("/intern/konto", "staff_account")
			st.do(chromedp.SendKeys(chromedp.CSS(`#token-name`), "Export-Abholung"), chromedp.Submit(chromedp.CSS(`#token-name`)),
				chromedp.WaitReady(chromedp.CSS(`#new-token`)))
			if tok := st.text(`#new-token`); !strings.HasPrefix(tok, "tmn_") {
				t.Fatalf("new token %q", tok)
			}
			st.check("account", "staff-account")
			st.open("/intern/verwaltung/konten", "staff_accounts")
			st.check("accounts", "staff-accounts")
			// Create an account with an error first: kept entries, summary.
			st.do(chromedp.SendKeys(chromedp.CSS(`#login`), "neu."+lang), chromedp.SendKeys(chromedp.CSS(`#name`), "Neue Kollegin"),
				chromedp.Click(chromedp.CSS(`#role-desk`)), chromedp.SendKeys(chromedp.CSS(`#password`), "kurz"),
				chromedp.Submit(chromedp.CSS(`#password`)), chromedp.WaitReady(chromedp.CSS(`#error-summary`)))
			st.check("accounts-error", "")
			st.do(chromedp.SendKeys(chromedp.CSS(`#password`), testPassword), chromedp.Submit(chromedp.CSS(`#password`)),
				chromedp.WaitReady(chromedp.CSS(`p.notice`)))
			st.do(chromedp.Click(chromedp.CSS(`a[href$="/konten/2"]`)), chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_account_edit"]`)))
			st.check("account-edit", "")
			st.open("/intern/protokoll", "staff_audit")
			st.check("audit", "staff-audit")
			st.do(chromedp.Click(chromedp.CSS(`header form.logout button`)), chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_login"]`)))

			// The lockout: three failures of one account lock it, and the
			// page says from when to try again.
			for i := 0; i < 3; i++ {
				st.open("/intern/anmelden", "staff_login")
				st.do(chromedp.SendKeys(chromedp.CSS(`#login`), "kasse"), chromedp.SendKeys(chromedp.CSS(`#password`), "daneben-"+lang),
					chromedp.Submit(chromedp.CSS(`#password`)), chromedp.WaitReady(chromedp.CSS(`#error-summary`)))
			}
			msg := st.text(`#error-summary`)
			want := map[string]string{"de": "Bitte versuchen Sie es ab", "en": "Please try again from"}[lang]
			if !strings.Contains(msg, want) {
				t.Fatalf("lockout message: %q", msg)
			}
			st.check("login-locked", "staff-lockout")
		})
	}
}
