// Package fairness keeps a rush of automated clients from taking every
// slot before people get a chance: a per-client token bucket and a
// proof-of-work challenge, both kept in Redis so they hold across any
// number of server replicas. Client addresses are only ever keyed by a
// keyed hash; nothing here stores or logs personal data.
package fairness
