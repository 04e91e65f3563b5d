-- QR signing keys rotate: one active key signs, retired keys verify until
-- the tickets they signed are past. The first key keeps id 1; the server
-- of the previous release reads only that row, so rotate once every
-- replica runs this one.
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_id_check;
CREATE SEQUENCE signing_keys_id_seq START 2 OWNED BY signing_keys.id;
ALTER TABLE signing_keys ALTER COLUMN id SET DEFAULT nextval('signing_keys_id_seq');
-- retired_at: when the key stopped signing (NULL: the active key).
-- verify_until: when it stops verifying, fixed once every replica signs
-- with its successor (NULL while not yet fixed).
ALTER TABLE signing_keys ADD COLUMN retired_at timestamptz, ADD COLUMN verify_until timestamptz;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
