package redis

import (
	"regexp"
	"testing"

	"github.com/digitale-verwaltung/termin/booking"
)

// TestScriptsDeclareTheirKeys guards Redis Cluster: a script may only touch
// keys passed in KEYS, or a cluster node may refuse it (or, worse, run it
// on a key that lives on another node). Every redis.call of every script
// must name one of the location-day keys the prelude takes from KEYS.
func TestScriptsDeclareTheirKeys(t *testing.T) {
	call := regexp.MustCompile(`redis\.call\('([A-Z]+)',\s*([^,)]+)`)
	declared := map[string]bool{"units": true, "holds": true, "exp": true, "meta": true, "KEYS[i]": true}
	for i, s := range scripts {
		calls := call.FindAllStringSubmatch(scriptSource[s], -1)
		if len(calls) == 0 {
			t.Errorf("script %d: no redis.call found", i)
		}
		for _, c := range calls {
			if !declared[c[2]] {
				t.Errorf("script %d: %s on %q, which is not one of its declared keys", i, c[1], c[2])
			}
		}
	}
	keys := DayKeys("stadtbad", booking.Date{Year: 2030, Month: 1, Day: 7})
	if len(keys) != 4 {
		t.Fatalf("%d day keys, the scripts use 4", len(keys))
	}
	// Redis Cluster hashes only the part inside the first {...}.
	tag := regexp.MustCompile(`^\{[^{}]+\}`)
	for _, k := range keys {
		if got := tag.FindString(k); got == "" || got != tag.FindString(keys[0]) {
			t.Errorf("%s does not share the hash tag of %s", k, keys[0])
		}
	}
}
