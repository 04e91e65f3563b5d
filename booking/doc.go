// Package booking is the domain core of termin: locations, services,
// calendars, slots, holds, bookings, queue tickets, QR ticket claims and
// booking codes, and the orchestration that books them (Engine, Queue).
//
// It imports no storage driver. The Engine holds units in a hold store and
// records bookings in a record store, both interfaces defined here (Holds
// in hold.go, Records in record.go, QueueStore in queue.go):
// booking/redis keeps holds in Redis (one Lua script per operation, all
// keys of a location-day under one hash tag), booking/postgres is the
// record (a UNIQUE constraint on location, slot cell and unit makes a
// double booking impossible even when Redis is wrong or lost).
package booking
