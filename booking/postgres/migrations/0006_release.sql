-- Fair release: when a location's days open for booking (release_every
-- '' for a rolling horizon, 'day' or 'month'), and how long a cancelled
-- booking's units stay blocked before they can be held again.
ALTER TABLE locations ADD COLUMN IF NOT EXISTS release_every text NOT NULL DEFAULT ''
	CHECK (release_every IN ('', 'day', 'month'));
ALTER TABLE locations ADD COLUMN IF NOT EXISTS release_at_minute int NOT NULL DEFAULT 0
	CHECK (release_at_minute >= 0 AND release_at_minute < 1440);
ALTER TABLE locations ADD COLUMN IF NOT EXISTS release_days_ahead int NOT NULL DEFAULT 0 CHECK (release_days_ahead >= 0);
ALTER TABLE locations ADD COLUMN IF NOT EXISTS release_day_of_month int NOT NULL DEFAULT 0
	CHECK (release_day_of_month >= 0 AND release_day_of_month <= 28);
ALTER TABLE locations ADD COLUMN IF NOT EXISTS cancel_block_minutes int NOT NULL DEFAULT 0 CHECK (cancel_block_minutes >= 0);

-- Until when a cancelled booking's units stay blocked: written with the
-- cancellation, read when a day is loaded into Redis again, so a lost
-- Redis blocks them exactly as long.
ALTER TABLE bookings ADD COLUMN IF NOT EXISTS blocked_until timestamptz;
CREATE INDEX IF NOT EXISTS bookings_blocked ON bookings (location_id, blocked_until) WHERE blocked_until IS NOT NULL;
