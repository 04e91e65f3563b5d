package finance

import "testing"

// The lists narrow by location, service and payment reference as well.
func TestLocationServiceReferenceFilters(t *testing.T) {
	l := &ledger{}
	app := newApp(l, "")
	if status, _, body := get(t, app, "/api/v1/finance/postings?location=stadtbad&service=erwachsene&reference=TRM1"); status != 200 {
		t.Fatalf("postings: %d %s", status, body)
	}
	if f := l.postings; f.Location != "stadtbad" || f.Service != "erwachsene" || f.Reference != "TRM1" {
		t.Fatalf("posting filter %+v", f)
	}
	get(t, app, "/api/v1/finance/payments?location=stadtbad&service=erwachsene&reference=TRM2")
	if f := l.payments; f.Location != "stadtbad" || f.Service != "erwachsene" || f.Reference != "TRM2" {
		t.Fatalf("payment filter %+v", f)
	}
}
