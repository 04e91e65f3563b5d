-- Citizen web: addresses, lead time and double opt-in per location, what
-- to bring per service; bookings of several services or ticket types, in
-- the citizen's language, with recomputable manage tokens, a calendar UID
-- and sequence; the booking events outbox the mail worker delivers.

ALTER TABLE locations
	ADD COLUMN street text NOT NULL DEFAULT '',
	ADD COLUMN postal_code text NOT NULL DEFAULT '',
	ADD COLUMN city text NOT NULL DEFAULT '',
	ADD COLUMN lead_minutes int NOT NULL DEFAULT 0 CHECK (lead_minutes >= 0),
	ADD COLUMN activation_minutes int NOT NULL DEFAULT 0 CHECK (activation_minutes >= 0);

ALTER TABLE services
	ADD COLUMN what_to_bring_de text NOT NULL DEFAULT '',
	ADD COLUMN what_to_bring_en text NOT NULL DEFAULT '';

ALTER TABLE bookings
	-- [{"service": id, "count": n}]; NULL for bookings of one service
	-- from before, which stand for service_id with one count per unit.
	ADD COLUMN items jsonb,
	ADD COLUMN lang text NOT NULL DEFAULT 'de' CHECK (lang IN ('de', 'en')),
	ADD COLUMN phone text NOT NULL DEFAULT '',
	-- The manage token is HMAC(key, code the token was issued for, salt);
	-- NULL salt: a random token from before, which cannot be rebuilt.
	ADD COLUMN token_salt bytea,
	ADD COLUMN token_code text,
	ADD COLUMN calendar_uid text,
	ADD COLUMN sequence int NOT NULL DEFAULT 0,
	-- When the reminder of the confirmed booking is due (NULL: none).
	ADD COLUMN remind_at timestamptz,
	ADD COLUMN activation_deadline timestamptz,
	ADD COLUMN previous_start_at timestamptz,
	ADD COLUMN previous_end_at timestamptz;

UPDATE bookings SET calendar_uid = 'b' || id || '-' || md5(code || hold_id) || '@termin' WHERE calendar_uid IS NULL;
ALTER TABLE bookings ALTER COLUMN calendar_uid SET NOT NULL;
ALTER TABLE bookings ADD CONSTRAINT bookings_calendar_uid_key UNIQUE (calendar_uid);

ALTER TABLE bookings DROP CONSTRAINT bookings_status_check;
ALTER TABLE bookings ADD CONSTRAINT bookings_status_check
	CHECK (status IN ('confirmed', 'pending_payment', 'pending_activation', 'cancelled'));
CREATE INDEX bookings_activation_due ON bookings (activation_deadline) WHERE status = 'pending_activation';

-- What citizens must hear about, written in the transaction of the change.
-- The mail worker claims due rows under a lease (FOR UPDATE SKIP LOCKED;
-- attempts fences a late answer of a worker whose lease ran out).
CREATE TABLE booking_events (
	id bigserial PRIMARY KEY,
	kind text NOT NULL CHECK (kind IN ('confirmed', 'cancelled', 'rescheduled', 'activation_requested',
		'activation_expired', 'reminder', 'manage_link')),
	booking_id bigint NOT NULL REFERENCES bookings (id),
	lang text NOT NULL DEFAULT 'de' CHECK (lang IN ('de', 'en')),
	deliver_after timestamptz NOT NULL,
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
	attempts int NOT NULL DEFAULT 0,
	lease_until timestamptz,
	last_error text,
	created_at timestamptz NOT NULL DEFAULT now(),
	done_at timestamptz
);
CREATE INDEX booking_events_due ON booking_events (deliver_after, id) WHERE state = 'pending';
CREATE INDEX booking_events_booking ON booking_events (booking_id, kind) WHERE state = 'pending';
CREATE INDEX booking_events_dead ON booking_events (done_at DESC) WHERE state = 'dead';
