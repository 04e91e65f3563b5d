package booking

import "time"

// HourStats is what happened at one location in one local hour of one day:
// the appointments that started in it and the queue tickets drawn in it.
// booking/postgres computes it from bookings and queue tickets.
type HourStats struct {
	Day  Date
	Hour int // 0..23, local time of the location
	// Booked counts the appointments (bookings) starting in the hour that
	// are confirmed; Cancelled those cancelled (by the citizen, by staff,
	// or a reservation that was never paid or activated).
	Booked    int
	Cancelled int
	// Due counts confirmed appointments whose start has passed; NoShows
	// those of them nobody came to (no check-in at an office or a queue
	// ticket marked no-show; no admission at a pool's entrance).
	Due     int
	NoShows int
	// WalkIns and CheckIns count the queue tickets drawn in the hour
	// without and with an appointment.
	WalkIns  int
	CheckIns int
	// Waited counts the tickets called in the hour's tickets, WaitTotal
	// their summed time from drawing to the call; Served and ServiceTotal
	// the same from the call to the end of the service.
	Waited       int
	WaitTotal    time.Duration
	Served       int
	ServiceTotal time.Duration
}

// SlotOccupancy is how many units of a pool's (or office's) slot are
// taken by live bookings, against its capacity.
type SlotOccupancy struct {
	Start    time.Time
	Units    int
	Capacity int
}

// ExpectedHour is the outlook of one local hour of a coming day: the
// appointments booked for it and the walk-ins the same weekday brought on
// average over the past weeks.
type ExpectedHour struct {
	Hour         int
	Appointments int
	// WalkInsAverage is the mean number of walk-in tickets drawn in that
	// hour over the weeks looked at.
	WalkInsAverage float64
}
