// Package audit is the append-only log of what staff and administrators
// did: who (account id and login), what (an action name and the object it
// touched), a short detail, when and from where (the client address
// shortened to its network). Entries carry no citizen data beyond ids.
// Storage is behind Store; audit/postgres implements it and refuses
// every change to a written entry.
package audit

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// Entry is one logged action.
type Entry struct {
	ID int64
	At time.Time
	// AccountID is 0 for the bootstrap administrator key.
	AccountID int64
	Login     string
	// Action names what was done, dotted: "account.create", "login.fail".
	Action string
	// Object names what it was done to: "account:12", "location:stadtbad".
	Object string
	Detail string
	// Address is the client's network (ShortenAddress), not its address.
	Address string
}

// Filter selects entries, newest first.
type Filter struct {
	Login  string // "" for every actor
	Action string // "" for every action; a trailing "." matches a prefix
	// Before pages: only entries with an id below it (0: from the newest).
	Before int64
	Limit  int
}

// Store keeps entries; it has no way to change or remove one.
type Store interface {
	Append(ctx context.Context, e Entry) (int64, error)
	List(ctx context.Context, f Filter) ([]Entry, error)
}

// Length limits of the fields; longer values are cut.
const (
	MaxActionLen = 64
	MaxObjectLen = 128
	MaxDetailLen = 500
	MaxLoginLen  = 64
)

// ErrStoreUnavailable wraps an outage of the store.
var ErrStoreUnavailable = errors.New("audit: store unavailable")

// Clean cuts the fields to their limits and replaces control characters,
// so an entry always fits and reads as one line.
func (e Entry) Clean() Entry {
	e.Login = clip(e.Login, MaxLoginLen)
	e.Action = clip(e.Action, MaxActionLen)
	e.Object = clip(e.Object, MaxObjectLen)
	e.Detail = clip(e.Detail, MaxDetailLen)
	e.Address = clip(e.Address, 64)
	return e
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// ShortenAddress keeps the network of a client address, enough to see
// where actions came from without recording a person's address: an IPv4
// address to its /24, an IPv6 address to its /48. Anything that is not
// an address gives "".
func ShortenAddress(addr string) string {
	ip, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		if ap, perr := netip.ParseAddrPort(strings.TrimSpace(addr)); perr == nil {
			ip = ap.Addr()
		} else {
			return ""
		}
	}
	ip = ip.WithZone("").Unmap()
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}
