// Package booking is the domain core of termin: locations, services,
// calendars, slots, holds, bookings and queue tickets.
//
// Holds live in Redis (redis.go: one Lua script per operation, all keys of a
// location-day under one hash tag); PostgreSQL is the record (postgres.go: a
// UNIQUE constraint on location, slot cell and unit makes a double booking
// impossible even when Redis is wrong or lost).
package booking
