-- Running numbers of Kassenzeichen; a sequence hands out numbers safely
-- across server replicas (gaps after a rollback are allowed).
CREATE SEQUENCE kassenzeichen_seq;

-- Account assignment (Kontierung) of a service's fee, owned by payment so
-- the booking catalog stays free of treasury terms.
CREATE TABLE service_accounting (
	service_id text PRIMARY KEY REFERENCES services (id),
	haushaltsstelle text NOT NULL DEFAULT '',
	produkt text NOT NULL DEFAULT '',
	sachkonto text NOT NULL DEFAULT '',
	kostenstelle text NOT NULL DEFAULT '',
	booking_text text NOT NULL DEFAULT '',
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
	id bigserial PRIMARY KEY,
	reference text NOT NULL UNIQUE CHECK (reference ~ '^[A-Za-z0-9_-]{1,27}$'),
	kassenzeichen text NOT NULL UNIQUE,
	-- The booking the payment is for; a late payment that was booked again
	-- points at the new booking, first_booking_id keeps the original.
	booking_id bigint NOT NULL REFERENCES bookings (id),
	first_booking_id bigint NOT NULL REFERENCES bookings (id),
	service_id text NOT NULL,
	units int NOT NULL CHECK (units > 0),
	amount_cents bigint NOT NULL CHECK (amount_cents > 0),
	currency text NOT NULL DEFAULT 'EUR',
	platform text NOT NULL,
	platform_id text,
	pay_url text,
	state text NOT NULL CHECK (state IN ('created', 'initiated', 'paid', 'confirmed', 'cancelled', 'failed', 'expired', 'refunded')),
	method text NOT NULL DEFAULT '',
	paid_at timestamptz,
	refunded_cents bigint NOT NULL DEFAULT 0,
	-- Why the payment ended as it did (late payment refunded, ...).
	note text NOT NULL DEFAULT '',
	-- The pending booking expires at deadline; the platform is polled until
	-- poll_until, so a payment completed late is still noticed.
	deadline timestamptz NOT NULL,
	poll_until timestamptz NOT NULL,
	next_poll_at timestamptz NOT NULL,
	poll_failures int NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payments_platform_id ON payments (platform, platform_id);
CREATE INDEX payments_poll ON payments (next_poll_at) WHERE state IN ('created', 'initiated', 'expired');
CREATE INDEX payments_booking ON payments (booking_id);

-- Every raw answer and callback of the platform, as received. Append-only.
CREATE TABLE payment_inbox (
	id bigserial PRIMARY KEY,
	payment_id bigint REFERENCES payments (id),
	kind text NOT NULL,
	-- For pushed notifications: the event id, to spot duplicates.
	event_id text,
	verified boolean NOT NULL,
	body bytea NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_inbox_payment ON payment_inbox (payment_id);

-- Treasury postings (Buchungen). GoBD: never changed, never deleted; a
-- refund is a counter-posting (Storno) that references the original.
CREATE TABLE postings (
	id bigserial PRIMARY KEY,
	posting_id text NOT NULL UNIQUE,
	kind text NOT NULL CHECK (kind IN ('payment', 'storno')),
	reverses bigint REFERENCES postings (id),
	payment_id bigint NOT NULL REFERENCES payments (id),
	kassenzeichen text NOT NULL,
	amount_cents bigint NOT NULL,
	currency text NOT NULL,
	value_date date NOT NULL,
	booking_date date NOT NULL,
	haushaltsstelle text NOT NULL,
	produkt text NOT NULL,
	sachkonto text NOT NULL,
	kostenstelle text NOT NULL,
	booking_text text NOT NULL,
	payment_method text NOT NULL,
	platform text NOT NULL,
	platform_id text NOT NULL,
	payment_reference text NOT NULL,
	booking_code text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((kind = 'payment') = (reverses IS NULL)),
	CHECK ((kind = 'payment' AND amount_cents > 0) OR (kind = 'storno' AND amount_cents < 0))
);
-- One posting per payment, one Storno per original.
CREATE UNIQUE INDEX postings_one_per_payment ON postings (payment_id) WHERE kind = 'payment';
CREATE UNIQUE INDEX postings_one_storno ON postings (reverses) WHERE kind = 'storno';

CREATE FUNCTION reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only: % rejected', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON postings
	FOR EACH ROW EXECUTE FUNCTION reject_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
	FOR EACH STATEMENT EXECUTE FUNCTION reject_change();
CREATE TRIGGER payment_inbox_immutable BEFORE UPDATE OR DELETE ON payment_inbox
	FOR EACH ROW EXECUTE FUNCTION reject_change();

-- Work another system must hear about, written in the transaction that
-- caused it and delivered at least once by workers that lease rows.
CREATE TABLE payment_outbox (
	id bigserial PRIMARY KEY,
	kind text NOT NULL CHECK (kind IN ('platform_confirm', 'refund', 'posting_file', 'posting_http')),
	payment_id bigint NOT NULL REFERENCES payments (id),
	posting_id bigint REFERENCES postings (id),
	amount_cents bigint NOT NULL DEFAULT 0,
	reason text NOT NULL DEFAULT '',
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
	attempts int NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	leased_until timestamptz,
	last_error text NOT NULL DEFAULT '',
	export_file text,
	created_at timestamptz NOT NULL DEFAULT now(),
	done_at timestamptz
);
CREATE INDEX payment_outbox_due ON payment_outbox (kind, next_attempt_at) WHERE state = 'pending';

CREATE TABLE reconciliation_runs (
	id bigserial PRIMARY KEY,
	settlement_date date NOT NULL,
	statement_id text NOT NULL DEFAULT '',
	result jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
