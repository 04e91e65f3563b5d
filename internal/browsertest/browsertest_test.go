package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/digitale-verwaltung/termin/internal/browsertest"
)

// axe finds what it should: a page with an image without alt text and a
// button without a name fails, the fixed page passes.
func TestAxeFindsViolations(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{})
	pages := map[string]string{
		"/bad":  `<!DOCTYPE html><html><head><title>x</title></head><body><main><img src="/x.png"><button></button></main></body></html>`,
		"/good": `<!DOCTYPE html><html lang="de"><head><title>x</title></head><body><main><h1>Gut</h1><img src="/x.png" alt="Ein Bild"><button>Weiter</button></main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, pages[r.URL.Path])
	}))
	defer srv.Close()
	ctx := b.Tab(t, 30*time.Second)

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/bad")); err != nil {
		t.Fatal(err)
	}
	vs, err := b.Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	for _, want := range []string{"image-alt", "button-name", "html-has-lang"} {
		if !strings.Contains(strings.Join(ids, " "), want) {
			t.Errorf("violations %q lack %s", ids, want)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/good")); err != nil {
		t.Fatal(err)
	}
	b.CheckAxe(t, ctx, "good page")
}
