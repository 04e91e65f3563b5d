package auth

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/response"
)

// staffAccounts stands in for the staff accounts to come: a token per
// member with their own roles.
type staffAccounts map[string]*Staff

func (a staffAccounts) Authenticate(_ context.Context, token string) (*Staff, error) {
	if s, ok := a[token]; ok {
		return s, nil
	}
	return nil, ErrNoStaff
}

type devices map[string]*booking.Device

func (d devices) DeviceByToken(_ context.Context, token string) (*booking.Device, error) {
	if dev, ok := d[token]; ok {
		return dev, nil
	}
	return nil, booking.ErrDeviceUnknown
}

func newApp() *fiber.App {
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	accounts := staffAccounts{
		"desk-token":    {Name: "desk 3", Roles: []Role{RoleDesk}},
		"finance-token": {Name: "kasse", Roles: []Role{RoleFinance}},
	}
	ok := func(c *fiber.Ctx) error {
		who := ManageTokenOf(c)
		if d := DeviceOf(c); d != nil {
			who = d.ID
		}
		if s := StaffOf(c); s != nil {
			who = s.Name
		}
		return c.SendString(who)
	}
	app.Get("/manage", ManageToken, ok)
	app.Get("/device", Device(devices{"dev-token": {ID: "dev-1"}}), ok)
	app.Get("/desk", RequireStaff(accounts, RoleDesk, RoleAdmin), ok)
	app.Get("/finance", RequireStaff(accounts, RoleFinance), ok)
	app.Get("/admin-key", RequireStaff(APIKey("secret"), RoleFinance), ok)
	app.Get("/no-key", RequireStaff(APIKey(""), RoleAdmin), ok)
	return app
}

func TestMiddlewares(t *testing.T) {
	app := newApp()
	tests := []struct {
		path, auth string
		status     int
		body       string // the caller's name, or the error code
	}{
		{"/manage", "Bearer tok", 200, "tok"},
		{"/manage", "Bearer  ", 401, "unauthorized"},
		{"/manage", "Basic dG9r", 401, "unauthorized"},
		{"/device", "Bearer dev-token", 200, "dev-1"},
		{"/device", "", 401, "device_unauthorized"},
		{"/device", "Bearer other", 401, "device_unauthorized"},
		{"/desk", "Bearer desk-token", 200, "desk 3"},
		{"/desk", "Bearer finance-token", 403, "forbidden"},
		{"/finance", "Bearer finance-token", 200, "kasse"},
		{"/finance", "Bearer nobody", 401, "unauthorized"},
		{"/admin-key", "Bearer secret", 200, "admin-api-key"},
		{"/admin-key", "Bearer secre", 401, "unauthorized"},
		{"/no-key", "Bearer ", 401, "unauthorized"},
		{"/no-key", "Bearer x", 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.auth, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
				t.Fatalf("got %d %s, want %d %s", res.StatusCode, b, tt.status, tt.body)
			}
		})
	}
}

func TestAPIKeyHoldsEveryRole(t *testing.T) {
	s, err := APIKey("k").Authenticate(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Role{RoleDesk, RolePool, RoleFinance, RoleAdmin} {
		if !s.Has(r) {
			t.Errorf("admin key lacks %s", r)
		}
	}
	if _, err := APIKey("k").Authenticate(context.Background(), "K"); !errors.Is(err, ErrNoStaff) {
		t.Fatalf("wrong key: %v", err)
	}
}
