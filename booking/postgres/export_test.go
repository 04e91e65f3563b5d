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
