-- The desk view: recalls, transfers to another service and the call
-- display's order.
--
-- called_at is the first call of a ticket (its waiting time ends there);
-- last_called_at is its latest call: a recall, or the call after a
-- transfer. The call display shows the newest last_called_at on top, and
-- a ticket's service time runs from last_called_at to finished_at.
ALTER TABLE queue_tickets
	ADD COLUMN last_called_at timestamptz,
	ADD COLUMN recalls int NOT NULL DEFAULT 0,
	-- A transferred ticket keeps its number and its place in the line (its
	-- id); these say from which service and when.
	ADD COLUMN transferred_from text,
	ADD COLUMN transferred_at timestamptz;

UPDATE queue_tickets SET last_called_at = called_at WHERE called_at IS NOT NULL;

CREATE INDEX queue_tickets_calls ON queue_tickets (location_id, day, last_called_at DESC);
