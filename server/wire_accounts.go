package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/account"
	accountpg "github.com/digitale-verwaltung/termin/account/postgres"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/config"
)

// newAccounts builds the staff accounts' service from the configuration.
func newAccounts(cfg config.Config, db *sqlx.DB) *account.Service {
	svc := account.NewService(accountpg.New(db), cfg.SubKey("staff login failures"))
	svc.SessionIdle, svc.SessionMax = cfg.Staff.SessionIdle, cfg.Staff.SessionMax
	svc.Lockout = account.Lockout{Failures: cfg.Staff.LockoutFailures, AddressFailures: cfg.Staff.LockoutAddressFailures, Window: cfg.Staff.LockoutWindow}
	return svc
}

// accountTokens authenticates the accounts' API tokens as members of
// staff with the account's roles.
type accountTokens struct{ svc *account.Service }

func (a accountTokens) Authenticate(ctx context.Context, token string) (*auth.Staff, error) {
	if !account.IsToken(token) {
		return nil, auth.ErrNoStaff
	}
	acc, _, err := a.svc.Authenticate(ctx, token)
	if errors.Is(err, account.ErrTokenUnknown) {
		return nil, auth.ErrNoStaff
	}
	if err != nil {
		return nil, err
	}
	s := &auth.Staff{AccountID: acc.ID, Login: acc.Login, Name: acc.DisplayName, LocationID: acc.LocationID}
	for _, r := range acc.Roles {
		s.Roles = append(s.Roles, auth.Role(r))
	}
	return s, nil
}

// staffAuthenticator is the API's chain: the accounts' tokens, then the
// bootstrap administrator key (every role) when one is configured.
func staffAuthenticator(cfg config.Config, accounts *account.Service) auth.StaffAuthenticator {
	return auth.Chain{accountTokens{accounts}, auth.APIKey(cfg.AdminAPIKey)}
}

// expireSessions deletes ended staff sessions now and then; every replica
// may run it (the delete is idempotent), and a session is refused by its
// expiry even before it is deleted.
func expireSessions(ctx context.Context, d *deps) {
	if n, err := d.accounts.ExpireSessions(ctx); err != nil {
		d.log.Warn("expire staff sessions", "err", err)
	} else if n > 0 {
		d.log.Debug("staff sessions expired", "count", n)
	}
}

// demoAccount is an account `server seed -demo-accounts` makes for the
// demo. Its password is public (in this file and the README): demo only.
type demoAccount struct {
	login, name, password string
	roles                 []account.Role
	location              string
}

var demoAccounts = []demoAccount{
	{"demo.admin", "Demo-Verwaltung", "Rheinufer-Verwaltung-2026", []account.Role{account.RoleAdmin}, ""},
	{"demo.schalter", "Demo-Schalter Bürgeramt", "Rheinufer-Schalter-2026", []account.Role{account.RoleDesk}, "buergeramt-koblenz"},
	{"demo.kasse", "Demo-Stadtkasse", "Rheinufer-Stadtkasse-2026", []account.Role{account.RoleFinance}, ""},
}

// seedDemoAccounts creates the demo accounts, or sets their demo password
// again when they exist, and prints the logins to out.
func seedDemoAccounts(ctx context.Context, svc *account.Service, out io.Writer) error {
	fmt.Fprintln(out, "Demo staff accounts (demo passwords, for this local demo only; log in at /intern):")
	for _, da := range demoAccounts {
		_, err := svc.Create(ctx, account.NewAccount{Login: da.login, DisplayName: da.name, Password: da.password, Roles: da.roles, LocationID: da.location})
		if errors.Is(err, account.ErrLoginTaken) {
			var a *account.Account
			if a, err = svc.Store.AccountByLogin(ctx, da.login); err == nil {
				err = svc.ResetPassword(ctx, a.ID, da.password)
			}
		}
		if err != nil {
			return fmt.Errorf("demo account %s: %w", da.login, err)
		}
		fmt.Fprintf(out, "  %-14s %-27s %s\n", da.login, da.password, rolesText(da.roles, da.location))
	}
	return nil
}

func rolesText(roles []account.Role, location string) string {
	s := ""
	for i, r := range roles {
		if i > 0 {
			s += ","
		}
		s += string(r)
	}
	if location != "" {
		s += " at " + location
	}
	return s
}
