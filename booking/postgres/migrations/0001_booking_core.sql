CREATE TABLE locations (
	id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	kind text NOT NULL CHECK (kind IN ('office', 'pool')),
	name text NOT NULL,
	timezone text NOT NULL,
	capacity int NOT NULL CHECK (capacity > 0),
	slot_minutes int NOT NULL CHECK (slot_minutes > 0),
	closed_on_holidays boolean NOT NULL,
	booking_horizon_days int NOT NULL CHECK (booking_horizon_days > 0),
	opening jsonb NOT NULL,
	closures jsonb NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE services (
	id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	location_id text NOT NULL REFERENCES locations (id),
	name text NOT NULL,
	duration_minutes int NOT NULL CHECK (duration_minutes > 0),
	fee_cents bigint NOT NULL CHECK (fee_cents >= 0),
	payment text NOT NULL CHECK (payment IN ('online', 'counter')),
	max_units int NOT NULL CHECK (max_units > 0),
	position int NOT NULL DEFAULT 0,
	active boolean NOT NULL DEFAULT true
);
CREATE INDEX services_location ON services (location_id, position);

CREATE TABLE bookings (
	id bigserial PRIMARY KEY,
	code text NOT NULL UNIQUE,
	-- One booking per hold: a second confirm of the same hold fails here.
	hold_id text NOT NULL UNIQUE,
	manage_token_hash bytea NOT NULL,
	location_id text NOT NULL REFERENCES locations (id),
	service_id text NOT NULL REFERENCES services (id),
	start_at timestamptz NOT NULL,
	end_at timestamptz NOT NULL CHECK (end_at > start_at),
	unit_indexes int[] NOT NULL,
	name text NOT NULL,
	email text NOT NULL,
	status text NOT NULL CHECK (status IN ('confirmed', 'pending_payment', 'cancelled')),
	created_at timestamptz NOT NULL DEFAULT now(),
	cancelled_at timestamptz
);
CREATE INDEX bookings_location_start ON bookings (location_id, start_at);

-- The record of which unit of which grid cell a live booking occupies. The
-- UNIQUE constraint is the last line of defence against double booking: it
-- holds even when Redis is lost or wrong. Rows go when a booking is
-- cancelled; the booking row keeps its unit_indexes for history.
CREATE TABLE booking_units (
	booking_id bigint NOT NULL REFERENCES bookings (id),
	location_id text NOT NULL,
	cell_start timestamptz NOT NULL,
	unit int NOT NULL CHECK (unit >= 0),
	CONSTRAINT booking_units_once UNIQUE (location_id, cell_start, unit)
);
CREATE INDEX booking_units_booking ON booking_units (booking_id);
