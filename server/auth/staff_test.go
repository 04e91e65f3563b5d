package auth

import (
	"context"
	"errors"
	"testing"
)

func TestStaffRoles(t *testing.T) {
	lead := &Staff{Roles: []Role{RoleDeskLead}}
	desk := &Staff{Roles: []Role{RoleDesk}, LocationID: "buergeramt"}
	var nobody *Staff
	for _, tt := range []struct {
		s     *Staff
		roles []Role
		want  bool
	}{
		{lead, []Role{RoleDesk}, true}, // a desk lead holds desk
		{lead, []Role{RoleDeskLead}, true},
		{desk, []Role{RoleDeskLead}, false},
		{desk, []Role{RoleFinance, RoleDesk}, true},
		{desk, nil, true}, // any member of staff
		{nobody, nil, false},
		{nobody, []Role{RoleDesk}, false},
	} {
		if got := tt.s.HasAny(tt.roles...); got != tt.want {
			t.Errorf("%v.HasAny(%v) = %v", tt.s, tt.roles, got)
		}
	}
	if !desk.AtLocation("buergeramt") || desk.AtLocation("stadtbad") || !lead.AtLocation("stadtbad") || nobody.AtLocation("") {
		t.Fatal("AtLocation")
	}
}

type fixed struct {
	token string
	s     *Staff
	err   error
}

func (f fixed) Authenticate(_ context.Context, token string) (*Staff, error) {
	if f.err != nil {
		return nil, f.err
	}
	if token == f.token {
		return f.s, nil
	}
	return nil, ErrNoStaff
}

func TestChainTriesInOrder(t *testing.T) {
	ctx := context.Background()
	tokens := fixed{token: "tmn_a", s: &Staff{Login: "kasse", Roles: []Role{RoleFinance}}}
	ch := Chain{tokens, APIKey("bootstrap")}
	if s, err := ch.Authenticate(ctx, "tmn_a"); err != nil || s.Login != "kasse" {
		t.Fatalf("token: %v %v", s, err)
	}
	if s, err := ch.Authenticate(ctx, "bootstrap"); err != nil || !s.Has(RoleAdmin) || s.AccountID != 0 {
		t.Fatalf("bootstrap key: %v %v", s, err)
	}
	if _, err := ch.Authenticate(ctx, "other"); !errors.Is(err, ErrNoStaff) {
		t.Fatalf("unknown: %v", err)
	}
	// An outage of the accounts is an outage, not "unknown token".
	down := errors.New("store down")
	if _, err := (Chain{fixed{err: down}, APIKey("bootstrap")}).Authenticate(ctx, "bootstrap"); !errors.Is(err, down) {
		t.Fatalf("outage: %v", err)
	}
	if _, err := (Chain{}).Authenticate(ctx, "x"); !errors.Is(err, ErrNoStaff) {
		t.Fatalf("empty chain: %v", err)
	}
}
