package mail_test

import (
	"strings"
	"testing"

	"github.com/digitale-verwaltung/termin/mail"
)

// A booking the office cancelled says so with the office's reason and
// offers to book again; the citizen's own cancellation does not.
func TestCancellationByTheOfficeGivesTheReason(t *testing.T) {
	c := newComposer(t)
	for _, tc := range []struct {
		lang, reason string
		want         []string
	}{
		{"de", "Personalversammlung", []string{"Wir mussten den Termin leider absagen. Grund: Personalversammlung.", "Neuen Termin buchen", "https://termine.koblenz.example/"}},
		{"en", "Personalversammlung", []string{"we had to cancel the appointment. Reason: Personalversammlung.", "Book a new appointment"}},
		{"de", "", nil},
	} {
		b := testBooking()
		b.Status, b.Sequence, b.OfficeReason = mail.StatusCancelled, 1, tc.reason
		m, err := c.Compose(mail.Event{ID: 7, Kind: mail.KindCancelled, BookingID: b.ID, Lang: tc.lang}, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(m.Text, w) || !strings.Contains(m.HTML, w) {
				t.Errorf("%s: mail lacks %q:\n%s", tc.lang, w, m.Text)
			}
		}
		if tc.reason == "" && (strings.Contains(m.Text, "absagen") || strings.Contains(m.Text, "Neuen Termin buchen")) {
			t.Errorf("the citizen's own cancellation speaks of the office:\n%s", m.Text)
		}
	}
}
