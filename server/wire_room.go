package main

import (
	"crypto/rand"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
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
	r.Schedule = fairness.Schedules{locationReleases{d.engine}, fairness.Releases(w.Releases)}
	for _, l := range w.Locations {
		if l == "*" {
			r.All = true
		}
		r.Locations[l] = true
	}
	r.Early, r.After, r.AutoThreshold = w.Early, w.After, w.Auto
	r.Rate = fairness.AdmissionRate{Rate: w.Rate, Burst: w.Burst, HoldTarget: w.HoldTarget}
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

// locationReleases is the locations' own release schedules (the city
// file's "release"), as the waiting room asks for them.
type locationReleases struct{ engine *booking.Engine }

// NextRelease is the first release at or after at; the booking core's
// NextRelease counts those strictly after its argument.
func (r locationReleases) NextRelease(location string, at time.Time) (time.Time, bool) {
	loc, tz, err := r.engine.Location(location)
	if err != nil {
		return time.Time{}, false
	}
	t, _, ok := loc.NextRelease(at.Add(-time.Nanosecond), tz)
	return t, ok
}
