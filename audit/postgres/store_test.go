package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/audit"
	auditpg "github.com/digitale-verwaltung/termin/audit/postgres"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

func TestAppendListAndNoChanges(t *testing.T) {
	ctx := context.Background()
	db, err := sqlx.Open("postgres", servicetest.DatabaseURL(t, auditpg.Migrations))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := auditpg.New(db)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i, e := range []audit.Entry{
		{AccountID: 1, Login: "admin", Action: "account.create", Object: "account:2"},
		{AccountID: 2, Login: "erika", Action: "login"},
		{AccountID: 1, Login: "admin", Action: "account.disable", Object: "account:2", Detail: "zeile\numbruch"},
		{AccountID: 1, Login: "admin", Action: "accountXcreate"},
	} {
		e.At = t0.Add(time.Duration(i) * time.Minute)
		e.Address = "192.0.2.0/24"
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List(ctx, audit.Filter{})
	if err != nil || len(all) != 4 || all[0].Action != "accountXcreate" || all[1].Detail != "zeile umbruch" || !all[3].At.Equal(t0) {
		t.Fatalf("all: %+v %v", all, err)
	}
	for _, tt := range []struct {
		f    audit.Filter
		want int
	}{
		{audit.Filter{Login: "admin"}, 3},
		{audit.Filter{Action: "account."}, 2}, // a prefix; "_" and "%" are no wildcards
		{audit.Filter{Action: "account_"}, 0},
		{audit.Filter{Action: "login"}, 1},
		{audit.Filter{Login: "admin", Before: all[1].ID}, 1},
		{audit.Filter{Limit: 2}, 2},
	} {
		got, err := s.List(ctx, tt.f)
		if err != nil || len(got) != tt.want {
			t.Errorf("List(%+v) = %d entries, %v; want %d", tt.f, len(got), err, tt.want)
		}
	}
	// Append-only: PostgreSQL refuses changes to the log.
	for _, q := range []string{`UPDATE audit_log SET login = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s was allowed", q)
		}
	}
	if all, _ := s.List(ctx, audit.Filter{}); len(all) != 4 || all[3].Login != "admin" {
		t.Fatalf("log changed: %+v", all)
	}
}
