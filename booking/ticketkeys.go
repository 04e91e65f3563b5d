package booking

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// FirstTicketKeyID is the id of the key that signed every ticket before
// keys could be rotated: it signs without a key id, so its tickets stay
// byte for byte what they were.
const FirstTicketKeyID = 1

// TicketKey is one key of the QR ticket signatures: the active one signs,
// retired ones only verify until the tickets they signed are past.
type TicketKey struct {
	ID int64
	// Private is nil where tickets are only verified (on a device).
	Private ed25519.PrivateKey
	Public  ed25519.PublicKey
	// Active marks the key that signs new tickets.
	Active bool
	// VerifyUntil is when a retired key stops verifying; zero for the
	// active key and for a retired key whose end is not fixed yet.
	VerifyUntil time.Time
}

// ValidAt reports whether the key still verifies tickets at now.
func (k TicketKey) ValidAt(now time.Time) bool {
	return k.Active || k.VerifyUntil.IsZero() || now.Before(k.VerifyUntil)
}

// TicketKeys is the set of keys a ticket may be signed with.
type TicketKeys []TicketKey

// Active returns the signing key.
func (ks TicketKeys) Active() (TicketKey, bool) {
	for _, k := range ks {
		if k.Active && k.Private != nil {
			return k, true
		}
	}
	return TicketKey{}, false
}

// Sign signs claims with the active key, naming it in the claims unless
// it is the first key. It panics without an active key: a server loads
// its keys before it serves.
func (ks TicketKeys) Sign(c TicketClaims) string {
	k, ok := ks.Active()
	if !ok {
		panic("booking: no active ticket signing key")
	}
	c.Key = 0
	if k.ID != FirstTicketKeyID {
		c.Key = k.ID
	}
	return SignTicket(k.Private, c)
}

// Verify parses a QR payload and checks its signature against the key it
// names, or, for a ticket without a key id, against each key; a key is
// used only while it is valid at now, so a ticket of a retired key is
// refused once that key's tickets are past.
func (ks TicketKeys) Verify(payload string, now time.Time) (TicketClaims, error) {
	c, sig, signed, err := ParseTicket(payload)
	if err != nil {
		return c, err
	}
	for _, k := range ks {
		if c.Key != 0 && k.ID != c.Key {
			continue
		}
		if !k.ValidAt(now) || len(k.Public) != ed25519.PublicKeySize {
			continue
		}
		if ed25519.Verify(k.Public, []byte(signed), sig) {
			return c, nil
		}
	}
	if c.Key != 0 {
		return TicketClaims{}, fmt.Errorf("%w: key %d is unknown or retired", ErrTicketSignature, c.Key)
	}
	return TicketClaims{}, ErrTicketSignature
}

// TicketSigner signs QR tickets.
type TicketSigner interface {
	SignTicket(c TicketClaims) string
}

// FixedTicketKey signs with one key without a key id, as before keys
// rotated.
type FixedTicketKey ed25519.PrivateKey

// SignTicket signs c with k.
func (k FixedTicketKey) SignTicket(c TicketClaims) string {
	return SignTicket(ed25519.PrivateKey(k), c)
}
