package finance

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/response"
)

// ledger remembers the filters it was asked with.
type ledger struct {
	postings payment.PostingFilter
	payments payment.PaymentFilter
}

func (l *ledger) ListPostings(_ context.Context, f payment.PostingFilter) ([]payment.Posting, error) {
	l.postings = f
	return []payment.Posting{}, nil
}

func (l *ledger) ListPayments(_ context.Context, f payment.PaymentFilter) ([]payment.Payment, error) {
	l.payments = f
	return []payment.Payment{}, nil
}

func (l *ledger) ListOutbox(context.Context, string, int) ([]payment.OutboxItem, error) {
	return []payment.OutboxItem{}, nil
}

func (l *ledger) Reconcile(context.Context, settlement.Report, camt.Document) (*reconcile.Reconciliation, error) {
	return nil, reconcile.ErrNotFound
}

func (l *ledger) Reconciliation(_ context.Context, id int64) (*reconcile.Reconciliation, error) {
	if id != 1 {
		return nil, reconcile.ErrNotFound
	}
	return &reconcile.Reconciliation{ID: 1, Counts: map[string]int{}}, nil
}

func newApp(l *ledger, exportDir string) *fiber.App {
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	h := &Handler{Ledger: l, Reconciler: l, ExportDir: exportDir, Staff: auth.APIKey("k")}
	h.Routes(app.Group("/api/v1"))
	return app
}

func get(t *testing.T, app *fiber.App, path string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer k")
	res, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

func day(s string) time.Time {
	d, _ := time.Parse(time.DateOnly, s)
	return d
}

func TestDateFilters(t *testing.T) {
	l := &ledger{}
	app := newApp(l, "")
	if status, _, body := get(t, app, "/api/v1/finance/postings?from=2026-03-01&to=2026-03-31&kind=storno&limit=5"); status != 200 {
		t.Fatalf("postings: %d %s", status, body)
	}
	// Postings are filtered by booking date, both ends included.
	if f := l.postings; !f.From.Equal(day("2026-03-01")) || !f.To.Equal(day("2026-03-31")) || f.Kind != "storno" || f.Limit != 5 {
		t.Fatalf("posting filter %+v", f)
	}
	get(t, app, "/api/v1/finance/payments?from=2026-03-01&to=2026-03-31&state=paid")
	// Payments by creation time: the end date is included by asking for
	// everything before the next day.
	if f := l.payments; !f.From.Equal(day("2026-03-01")) || !f.To.Equal(day("2026-04-01")) || f.State != "paid" {
		t.Fatalf("payment filter %+v", f)
	}
	get(t, app, "/api/v1/finance/payments")
	if f := l.payments; !f.From.IsZero() || !f.To.IsZero() {
		t.Fatalf("open payment filter %+v", f)
	}
	for _, path := range []string{"/api/v1/finance/postings?from=March", "/api/v1/finance/payments?to=2026-3-1"} {
		if status, _, body := get(t, app, path); status != 400 || !strings.Contains(body, "invalid_request") {
			t.Errorf("%s: %d %s", path, status, body)
		}
	}
}

func TestExportFiles(t *testing.T) {
	dir := t.TempDir()
	name := "termin-buchungen-2026-03-01.csv"
	if err := os.WriteFile(filepath.Join(dir, name), []byte("a;b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".sha256"), []byte("00  "+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	app := newApp(&ledger{}, dir)
	tests := []struct {
		path, contentType string
		status            int
	}{
		{"/api/v1/finance/exports/" + name, "text/csv; charset=utf-8", 200},
		{"/api/v1/finance/exports/" + name + ".sha256", "text/plain; charset=utf-8", 200},
		{"/api/v1/finance/exports/termin-buchungen-2026-03-02.csv", "", 404},
		{"/api/v1/finance/exports/..%2Fsecret.csv", "", 404},
		{"/api/v1/finance/exports/passwd", "", 404},
	}
	for _, tt := range tests {
		status, ct, body := get(t, app, tt.path)
		if status != tt.status || tt.contentType != "" && ct != tt.contentType || status == 404 && !strings.Contains(body, "export_not_found") {
			t.Errorf("%s: %d %s %s", tt.path, status, ct, body)
		}
	}
	if status, _, body := get(t, app, "/api/v1/finance/exports"); status != 200 || !strings.Contains(body, name+".sha256") {
		t.Fatalf("list: %d %s", status, body)
	}
	if status, _, body := get(t, newApp(&ledger{}, ""), "/api/v1/finance/exports"); status != 200 || body != `{"files":[]}` {
		t.Fatalf("no export dir: %d %s", status, body)
	}
}

func TestReconciliationIDs(t *testing.T) {
	app := newApp(&ledger{}, "")
	for path, want := range map[string]int{
		"/api/v1/finance/reconciliations/1":     200,
		"/api/v1/finance/reconciliations/1/csv": 200,
		"/api/v1/finance/reconciliations/2":     404,
		"/api/v1/finance/reconciliations/x/csv": 404,
	} {
		if status, _, body := get(t, app, path); status != want {
			t.Errorf("%s: %d %s", path, status, body)
		}
	}
}
