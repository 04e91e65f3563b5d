-- Staff accounts, their sessions, failed logins and API tokens. Session
-- ids and token secrets are stored only as SHA-256 hashes; failed logins
-- only under keyed hashes of the login and the client address.
CREATE TABLE staff_accounts (
	id bigserial PRIMARY KEY,
	login text NOT NULL UNIQUE CHECK (login = lower(login) AND length(login) BETWEEN 2 AND 64),
	display_name text NOT NULL,
	roles text[] NOT NULL CHECK (cardinality(roles) > 0
		AND roles <@ ARRAY['desk', 'desk_lead', 'pool', 'finance', 'admin']),
	location_id text NOT NULL DEFAULT '',
	disabled boolean NOT NULL DEFAULT false,
	password_hash text NOT NULL,
	password_changed_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff_sessions (
	id_hash bytea PRIMARY KEY,
	account_id bigint NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
	desk text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	last_seen timestamptz NOT NULL
);
CREATE INDEX staff_sessions_account ON staff_sessions (account_id);
CREATE INDEX staff_sessions_last_seen ON staff_sessions (last_seen);

-- One row per failed login and counter (login or address); rows older
-- than the lockout window are pruned as new ones arrive.
CREATE TABLE staff_login_failures (
	key text NOT NULL,
	at timestamptz NOT NULL
);
CREATE INDEX staff_login_failures_key_at ON staff_login_failures (key, at DESC);
CREATE INDEX staff_login_failures_at ON staff_login_failures (at);

CREATE TABLE staff_api_tokens (
	id bigserial PRIMARY KEY,
	account_id bigint NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
	name text NOT NULL,
	hash bytea NOT NULL UNIQUE,
	created_at timestamptz NOT NULL,
	last_used timestamptz,
	revoked_at timestamptz
);
CREATE INDEX staff_api_tokens_account ON staff_api_tokens (account_id);
