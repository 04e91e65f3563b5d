package postgres

// GroupStats reports how many group transactions the store wrote and how
// many bookings they held.
func GroupStats(s *Store) (groups, grouped int64) {
	return s.group.groups.Load(), s.group.grouped.Load()
}
