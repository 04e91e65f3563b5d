-- Administration on the web.
--
-- The catalog version goes up with every change of locations or services
-- (in the changing transaction, which also NOTIFYs termin_catalog), so
-- every server replica can see cheaply that it must reload its catalog.
CREATE TABLE IF NOT EXISTS catalog_version (
	only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	version bigint NOT NULL
);
INSERT INTO catalog_version (version) VALUES (1) ON CONFLICT DO NOTHING;

-- layout_version goes up when a location's capacity or slot length
-- changes: the hold store's bitmaps of its days are laid out by both, so
-- the days are kept under new keys and loaded afresh from PostgreSQL.
ALTER TABLE locations ADD COLUMN IF NOT EXISTS layout_version int NOT NULL DEFAULT 0;

-- A booking cancelled by the office (for a change of opening hours,
-- capacity or services) keeps who cancelled it and why.
ALTER TABLE bookings ADD COLUMN IF NOT EXISTS cancelled_by_account bigint;
ALTER TABLE bookings ADD COLUMN IF NOT EXISTS cancel_reason text NOT NULL DEFAULT '';

-- A revoked device's token no longer authenticates it.
ALTER TABLE devices ADD COLUMN IF NOT EXISTS revoked_at timestamptz;
