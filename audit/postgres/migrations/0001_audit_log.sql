-- The audit log is append-only: a trigger refuses every UPDATE and DELETE
-- (and TRUNCATE), so not even a bug in this program can rewrite it.
CREATE TABLE audit_log (
	id bigserial PRIMARY KEY,
	at timestamptz NOT NULL,
	account_id bigint NOT NULL,
	login text NOT NULL,
	action text NOT NULL,
	object text NOT NULL,
	detail text NOT NULL,
	address text NOT NULL
);
CREATE INDEX audit_log_login ON audit_log (login, id DESC);
CREATE INDEX audit_log_action ON audit_log (action text_pattern_ops, id DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
