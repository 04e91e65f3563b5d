package mailtest_test

import (
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/mail/mailtest"
)

func TestMemStoreKeepsTheContract(t *testing.T) {
	s := mailtest.NewMemStore()
	var booking int64
	mailtest.TestEvents(t, s, func(_ *testing.T, kind, lang string, at time.Time) (int64, int64) {
		booking++
		return s.Add(kind, booking, lang, at), booking
	})
}
