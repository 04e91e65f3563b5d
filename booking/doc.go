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
//
// What can be booked is decided in one place, Location.bookableStarts
// (plan.go): opening rules, closures, holidays, the lead time and the
// horizon. A choice (Item: one or several office services, or pool ticket
// types with counts) is checked into a Plan there too. Changes a citizen
// must hear about are written by the record store as booking events in
// the transaction of the change (event.go); the mail worker delivers
// them.
package booking
