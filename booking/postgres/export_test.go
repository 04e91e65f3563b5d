package postgres

// StatsQueries are the statistics queries by name, for the EXPLAIN test.
var StatsQueries = map[string]string{
	"activity appointments": activityAppointmentsSQL,
	"activity tickets":      activityTicketsSQL,
	"occupancy":             occupancySQL,
	"expected appointments": expectedAppointmentsSQL,
	"open days":             openDaysSQL,
	"walk-in history":       walkInHistorySQL,
}

// GroupStats reports how many group transactions the store wrote and how
// many bookings they held.
func GroupStats(s *Store) (groups, grouped int64) {
	return s.group.groups.Load(), s.group.grouped.Load()
}

// SetGroupLimit bounds the bookings of one group transaction (1: one
// transaction per booking, as before grouping).
func SetGroupLimit(s *Store, n int) { s.group.limit = n }
