-- Data protection: a booking's personal data (name, e-mail address, phone,
-- the keyed hash of the address) is removed a configured number of days
-- after its appointment, or at once when the citizen asks; the booking
-- stays, anonymised, for statistics and for the postings that refer to
-- its code.
ALTER TABLE bookings ADD COLUMN anonymised_at timestamptz;
CREATE INDEX bookings_personal_until ON bookings (end_at) WHERE anonymised_at IS NULL;
