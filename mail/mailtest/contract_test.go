package mailtest_test

import (
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/mail/mailtest"
)

func TestMemStoreKeepsTheContract(t *testing.T) {
	s := mailtest.NewMemStore()
	mailtest.TestEvents(t, s, func(_ *testing.T, kind string, bookingID int64, lang string, at time.Time) int64 {
		return s.Add(kind, bookingID, lang, at)
	})
}
