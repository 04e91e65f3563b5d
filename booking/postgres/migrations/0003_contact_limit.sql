-- The per-contact limit: how many live bookings one e-mail address holds
-- at a location on one local day. The address is only ever keyed here by
-- its keyed hash (HMAC), so the table cannot be read back into addresses.
-- The row lock taken by the counting UPSERT is what makes the limit hold
-- under concurrent confirms on any number of server replicas.
ALTER TABLE bookings ADD COLUMN contact_hash bytea;
ALTER TABLE bookings ADD COLUMN local_day date;

CREATE TABLE contact_days (
	location_id text NOT NULL REFERENCES locations (id),
	day date NOT NULL,
	contact_hash bytea NOT NULL,
	bookings int NOT NULL CHECK (bookings >= 0),
	PRIMARY KEY (location_id, day, contact_hash)
);
