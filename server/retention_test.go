package main

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestRetentionLeavesNoPersonalData: within the retention the job leaves
// bookings alone; after it, no name or e-mail address of a paid booking
// and of a second one is left in any column of any table, while the
// bookings and the posting stay, anonymised.
func TestRetentionLeavesNoPersonalData(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	ctx := context.Background()
	start := s.poolSlot(t)
	paid := s.book(t, start, 1) // Erika Mustermann, erika@example.org
	s.pay(t, paid.Payment.Reference, true)
	s.work(t)
	hold := s.mustHold(t, "stadtbad", "erwachsene", start, 1)
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+hold+`","name":"Zacharias Quellenbrink","email":"zq.retention@example.org"}`)
	if res.Status != 201 {
		t.Fatalf("second booking: %d %s", res.Status, res.Body)
	}

	if where := findAnywhere(t, s, "Quellenbrink"); where != "bookings.name" {
		t.Fatalf("the search finds the name in %q, want bookings.name", where)
	}
	job := s.deps.retention()
	// A day after the appointment, within the retention: nothing goes.
	slot, _ := time.Parse(time.RFC3339, start)
	job.Now = func() time.Time { return slot.Add(24 * time.Hour) }
	if n, err := job.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("within the retention: %d anonymised, %v", n, err)
	}
	job.Now = func() time.Time { return slot.Add(31 * 24 * time.Hour) }
	if n, err := job.RunOnce(ctx); err != nil || n != 2 {
		t.Fatalf("after the retention: %d anonymised, %v; want 2", n, err)
	}
	for _, needle := range []string{"Erika Mustermann", "erika@example.org", "Quellenbrink", "zq.retention@example.org"} {
		if where := findAnywhere(t, s, needle); where != "" {
			t.Errorf("%q is still in %s", needle, where)
		}
	}
	if n := s.count(t, `SELECT count(*) FROM bookings WHERE anonymised_at IS NOT NULL`); n != 2 {
		t.Errorf("%d anonymised bookings kept, want 2", n)
	}
	if n := s.count(t, `SELECT count(*) FROM postings WHERE booking_code = $1`, paid.Code); n != 1 {
		t.Errorf("the posting of the anonymised booking: %d rows, want 1", n)
	}
}

// findAnywhere searches every text, json and array column of every table
// for needle and names the first place it is found.
func findAnywhere(t *testing.T, s *payServer, needle string) string {
	t.Helper()
	var cols []struct {
		Table  string `db:"table_name"`
		Column string `db:"column_name"`
	}
	if err := s.deps.db.Select(&cols, `
		SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY', 'bytea')`); err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		q := fmt.Sprintf(`SELECT count(*) FROM %q WHERE %q::text ILIKE '%%' || $1 || '%%'`, c.Table, c.Column)
		if n := s.count(t, q, needle); n > 0 {
			return c.Table + "." + c.Column
		}
	}
	return ""
}
