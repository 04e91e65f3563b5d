package staff

import (
	"fmt"
	"testing"

	"github.com/digitale-verwaltung/termin/booking"
)

func TestDisplayShowsNumbersAndDesksOnly(t *testing.T) {
	desk := "3"
	var ts []booking.QueueTicket
	for i := range 12 {
		ts = append(ts, booking.QueueTicket{Number: fmt.Sprintf("A%03d", i), State: booking.QueueCalled, Desk: &desk})
	}
	ts = append(ts,
		booking.QueueTicket{Number: "A100", State: booking.QueueCalled}, // called, but to no desk yet
		booking.QueueTicket{Number: "A101", State: booking.QueueWaiting},
		booking.QueueTicket{Number: "A102", State: booking.QueueWaiting},
		booking.QueueTicket{Number: "A103", State: "served"},
	)
	d := newDisplayJSON(ts)
	if len(d.Called) != displayCalled || d.Called[0] != (displayEntry{"A000", "3"}) || d.Waiting != 2 {
		t.Fatalf("display %+v", d)
	}
	if d := newDisplayJSON(nil); d.Called == nil || len(d.Called) != 0 {
		t.Fatalf("an empty queue shows [] called: %+v", d)
	}
}
