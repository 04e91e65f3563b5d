-- An entrance that admitted a ticket offline whose booking was cancelled,
-- unpaid or unknown uploads the scan all the same: it is recorded with the
-- reason in flag, for staff to look at.
ALTER TABLE ticket_redemptions ADD COLUMN IF NOT EXISTS flag text;
CREATE INDEX IF NOT EXISTS ticket_redemptions_flagged ON ticket_redemptions (location_id, scanned_at) WHERE flag IS NOT NULL;
