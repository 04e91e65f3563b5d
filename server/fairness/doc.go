// Package fairness keeps a rush of automated clients from taking every
// slot before people get a chance: a per-client token bucket, a
// proof-of-work challenge and a waiting room in front of releases (room.go),
// all kept in stores that every server replica shares (package
// fairness/redis). This package imports no
// storage driver. Client addresses are only ever keyed by a
// keyed hash; nothing here stores or logs personal data.
package fairness
