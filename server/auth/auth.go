// Package auth is the one place the server authenticates a request. Each
// kind of caller has its middleware:
//
//   - ManageToken: a citizen's secret manage token of one booking;
//   - Device: an enrolled kiosk or entrance scanner's device token;
//   - Staff: a member of staff with one of the roles a route needs (desk,
//     pool, finance, admin).
//
// Every API scheme is a bearer token in the Authorization header. Staff are
// authenticated by a StaffAuthenticator: a Chain of the accounts' API
// tokens and the bootstrap administrator key (APIKey), which holds every
// role. Staff pages admit a login session instead (server/web) and put the
// member of staff where StaffOf finds it (SetStaff), so handlers read one
// identity on pages and API alike.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/response"
)

// Bearer returns the token of the Authorization header.
func Bearer(c *fiber.Ctx) (string, bool) {
	token, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	token = strings.TrimSpace(token)
	return token, ok && token != ""
}

type localKey int

const (
	manageTokenKey localKey = iota
	deviceKey
	staffKey
)

// ManageToken admits a request that carries a manage token; the handler
// reads it with ManageTokenOf and checks it against the booking.
func ManageToken(c *fiber.Ctx) error {
	token, ok := Bearer(c)
	if !ok {
		return response.ErrUnauthorized
	}
	c.Locals(manageTokenKey, token)
	return c.Next()
}

// ManageTokenOf returns the manage token ManageToken admitted.
func ManageTokenOf(c *fiber.Ctx) string {
	s, _ := c.Locals(manageTokenKey).(string)
	return s
}

// DeviceFinder finds the enrolled device a token belongs to, or fails
// with booking.ErrDeviceUnknown.
type DeviceFinder interface {
	DeviceByToken(ctx context.Context, token string) (*booking.Device, error)
}

// Device admits an enrolled device; handlers read it with DeviceOf.
func Device(devices DeviceFinder) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token, ok := Bearer(c)
		if !ok {
			return response.ErrDeviceUnauthorized
		}
		d, err := devices.DeviceByToken(c.UserContext(), token)
		if err != nil {
			return err
		}
		c.Locals(deviceKey, d)
		return c.Next()
	}
}

// DeviceOf returns the device Device admitted.
func DeviceOf(c *fiber.Ctx) *booking.Device {
	d, _ := c.Locals(deviceKey).(*booking.Device)
	return d
}

// Role is what a member of staff may do.
type Role string

// The staff roles.
const (
	RoleDesk     Role = "desk"      // counter staff: call numbers, today's appointments
	RoleDeskLead Role = "desk_lead" // desk plus the statistics and tomorrow view of its location
	RolePool     Role = "pool"      // pool staff: the entrance
	RoleFinance  Role = "finance"   // Stadtkasse: postings, exports, reconciliation
	RoleAdmin    Role = "admin"     // locations, services, devices, staff
)

// AllRoles lists every role.
var AllRoles = []Role{RoleDesk, RoleDeskLead, RolePool, RoleFinance, RoleAdmin}

// Staff is an authenticated member of staff.
type Staff struct {
	// AccountID is the account's id; 0 for the bootstrap key. Logs name
	// staff by it, never by name.
	AccountID int64
	// Login is the account's login ("admin-api-key" for the bootstrap key).
	Login string
	// Name is the display name, for pages.
	Name  string
	Roles []Role
	// LocationID scopes desk work to one location; "" means every one.
	LocationID string
	// Desk is the desk number chosen in this login session ("" until
	// chosen, and always for API tokens).
	Desk string
	// SessionID is the secret id of the login session ("" on the API).
	SessionID string
}

// Has reports whether s holds role; a desk lead holds the desk role too.
func (s *Staff) Has(role Role) bool {
	if s == nil {
		return false
	}
	return slices.Contains(s.Roles, role) || role == RoleDesk && slices.Contains(s.Roles, RoleDeskLead)
}

// HasAny reports whether s holds at least one of roles (any member of
// staff when roles is empty).
func (s *Staff) HasAny(roles ...Role) bool {
	if s == nil {
		return false
	}
	return len(roles) == 0 || slices.ContainsFunc(roles, s.Has)
}

// AtLocation reports whether s may work at the location: staff without a
// location scope work at every one.
func (s *Staff) AtLocation(locationID string) bool {
	return s != nil && (s.LocationID == "" || s.LocationID == locationID)
}

// ErrNoStaff is what a StaffAuthenticator returns for a token that belongs
// to nobody.
var ErrNoStaff = errors.New("no staff account for this token")

// StaffAuthenticator finds the member of staff a bearer token belongs to.
type StaffAuthenticator interface {
	Authenticate(ctx context.Context, token string) (*Staff, error)
}

// APIKey authenticates the single administrator key as a member of staff
// with every role. An empty key admits nobody.
type APIKey string

// Authenticate implements StaffAuthenticator.
func (k APIKey) Authenticate(_ context.Context, token string) (*Staff, error) {
	if k == "" || subtle.ConstantTimeCompare([]byte(token), []byte(k)) != 1 {
		return nil, ErrNoStaff
	}
	return &Staff{Login: "admin-api-key", Name: "admin-api-key", Roles: slices.Clone(AllRoles)}, nil
}

// Chain tries each authenticator in turn until one knows the token.
type Chain []StaffAuthenticator

// Authenticate implements StaffAuthenticator.
func (ch Chain) Authenticate(ctx context.Context, token string) (*Staff, error) {
	for _, a := range ch {
		s, err := a.Authenticate(ctx, token)
		if errors.Is(err, ErrNoStaff) {
			continue
		}
		return s, err
	}
	return nil, ErrNoStaff
}

// RequireStaff admits a member of staff who holds at least one of roles;
// handlers read them with StaffOf.
func RequireStaff(a StaffAuthenticator, roles ...Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token, ok := Bearer(c)
		if !ok {
			return response.ErrStaffUnauthorized
		}
		s, err := a.Authenticate(c.UserContext(), token)
		if errors.Is(err, ErrNoStaff) {
			return response.ErrStaffUnauthorized
		}
		if err != nil {
			return err
		}
		if !s.HasAny(roles...) {
			return response.ErrForbidden
		}
		c.Locals(staffKey, s)
		return c.Next()
	}
}

// SetStaff records the member of staff a request was admitted as (the
// staff pages' session middleware does).
func SetStaff(c *fiber.Ctx, s *Staff) { c.Locals(staffKey, s) }

// StaffOf returns the member of staff RequireStaff (or SetStaff) admitted.
func StaffOf(c *fiber.Ctx) *Staff {
	s, _ := c.Locals(staffKey).(*Staff)
	return s
}
