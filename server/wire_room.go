package main

import (
	"crypto/rand"
	"time"

	"github.com/digitale-verwaltung/termin/server/fairness"
	fairnessredis "github.com/digitale-verwaltung/termin/server/fairness/redis"
)

// newRoom builds the waiting room in front of releases from the
// configuration: the locations it guards, the release instants, its
// admission rate and the proof of work a place costs.
func newRoom(d *deps) *fairness.Room {
	cfg, w := d.cfg, d.cfg.Room
	roomKey, powKey := cfg.SubKey("waiting room"), cfg.SubKey("waiting room pow")
	if cfg.Secret == "" {
		// As for the hold challenges: a random key keeps tokens
		// unforgeable, valid on this process only.
		roomKey, powKey = make([]byte, 32), make([]byte, 32)
		rand.Read(roomKey)
		rand.Read(powKey)
	}
	store := fairnessredis.New(d.rdb)
	r := fairness.NewRoom(store, roomKey)
	r.Schedule = fairness.Releases(w.Releases)
	for _, l := range w.Locations {
		if l == "*" {
			r.All = true
		}
		r.Locations[l] = true
	}
	r.Early, r.After, r.AutoThreshold = w.Early, w.After, w.Auto
	r.Rate = fairness.AdmissionRate{Rate: w.Rate, Burst: w.Burst}
	r.Keep, r.TokenTTL, r.HoldsPerAdmission = w.Keep, w.TokenTTL, w.Holds
	r.Proofs = fairness.NewChallenges(store, powKey)
	r.Proofs.Difficulty = w.PowBits
	if cfg.PowTTL > 0 {
		r.Proofs.TTL = cfg.PowTTL
	}
	now := func() time.Time { return d.engine.Now() } // one clock (tests move it)
	r.Now, r.Proofs.Now = now, now
	return r
}
