package staff

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/account"
	"github.com/digitale-verwaltung/termin/audit"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

// Accounts creates staff accounts; with the bootstrap key this is how a
// city makes its first administrator (the pages manage accounts after).
type Accounts interface {
	Create(ctx context.Context, n account.NewAccount) (*account.Account, error)
}

// AuditLog records administrators' actions.
type AuditLog interface {
	Append(ctx context.Context, e audit.Entry) (int64, error)
}

type createAccountRequest struct {
	Login    string   `json:"login"`
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Roles    []string `json:"roles"`
	Location string   `json:"location"`
}

type accountJSON struct {
	ID       int64    `json:"id"`
	Login    string   `json:"login"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
	Location string   `json:"location"`
	Disabled bool     `json:"disabled"`
}

func (h *Handler) createAccount(c *fiber.Ctx) error {
	var req createAccountRequest
	if err := request.JSON(c, &req); err != nil {
		return err
	}
	if req.Location != "" {
		if _, _, err := h.Catalog.Location(req.Location); err != nil {
			return err
		}
	}
	n := account.NewAccount{Login: req.Login, DisplayName: req.Name, Password: req.Password, LocationID: req.Location}
	for _, r := range req.Roles {
		n.Roles = append(n.Roles, account.Role(r))
	}
	a, err := h.Accounts.Create(c.UserContext(), n)
	if err != nil {
		return err
	}
	out := accountJSON{ID: a.ID, Login: a.Login, Name: a.DisplayName, Location: a.LocationID, Roles: []string{}}
	for _, r := range a.Roles {
		out.Roles = append(out.Roles, string(r))
	}
	if h.Audit != nil {
		s := auth.StaffOf(c)
		e := audit.Entry{At: h.Now(), AccountID: s.AccountID, Login: s.Login, Action: "account.create",
			Object: "account:" + strconv.FormatInt(a.ID, 10), Detail: "API", Address: audit.ShortenAddress(c.IP())}
		if _, err := h.Audit.Append(c.UserContext(), e); err != nil {
			return err
		}
	}
	return response.Created(c, out)
}
