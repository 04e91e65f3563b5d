ALTER TABLE services ADD COLUMN queue_prefix text NOT NULL DEFAULT 'A' CHECK (queue_prefix ~ '^[A-SU-Z]$');

-- Running numbers per location, day and prefix; UPDATE ... RETURNING makes
-- drawing a number atomic across server replicas.
CREATE TABLE queue_counters (
	location_id text NOT NULL REFERENCES locations (id),
	day date NOT NULL,
	prefix text NOT NULL,
	last int NOT NULL,
	PRIMARY KEY (location_id, day, prefix)
);

CREATE TABLE queue_tickets (
	id bigserial PRIMARY KEY,
	location_id text NOT NULL REFERENCES locations (id),
	day date NOT NULL,
	number text NOT NULL,
	service_id text REFERENCES services (id),
	-- A checked-in appointment; one ticket per booking.
	booking_id bigint UNIQUE REFERENCES bookings (id),
	state text NOT NULL CHECK (state IN ('waiting', 'called', 'served', 'no_show')),
	desk text,
	device_id text,
	created_at timestamptz NOT NULL DEFAULT now(),
	called_at timestamptz,
	finished_at timestamptz,
	UNIQUE (location_id, day, number)
);
CREATE INDEX queue_tickets_waiting ON queue_tickets (location_id, day, state, created_at);

-- Entrance scans of pool tickets: a ticket admits once per location. The
-- nonce is the scanning device's id for one scan, so an upload repeated
-- after a network failure is recognised.
CREATE TABLE ticket_redemptions (
	booking_code text NOT NULL,
	location_id text NOT NULL REFERENCES locations (id),
	nonce text NOT NULL UNIQUE,
	device_id text,
	scanned_at timestamptz NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now(),
	offline boolean NOT NULL DEFAULT false,
	PRIMARY KEY (location_id, booking_code)
);

CREATE TABLE devices (
	id text PRIMARY KEY,
	location_id text NOT NULL REFERENCES locations (id),
	name text NOT NULL,
	mode text NOT NULL CHECK (mode IN ('counter', 'gate')),
	enrollment_hash bytea UNIQUE,
	enrollment_expires_at timestamptz,
	token_hash bytea UNIQUE,
	created_at timestamptz NOT NULL DEFAULT now(),
	enrolled_at timestamptz,
	last_seen_at timestamptz,
	version text,
	status jsonb NOT NULL DEFAULT '{}'
);

-- The key that signs QR tickets, shared by all replicas; created by the
-- first server that needs it unless one is configured.
CREATE TABLE signing_keys (
	id int PRIMARY KEY CHECK (id = 1),
	seed bytea NOT NULL CHECK (length(seed) = 32),
	created_at timestamptz NOT NULL DEFAULT now()
);
