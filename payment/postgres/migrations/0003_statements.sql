-- Bank statements read by reconciliation runs, kept to show a gap in a
-- statement's sequence numbers or a second import of the same statement
-- (reconcile.CheckStatements). The run's result holds the same facts for
-- display; this table is what later runs look them up in.
CREATE TABLE bank_statements (
	id bigserial PRIMARY KEY,
	run_id bigint NOT NULL REFERENCES reconciliation_runs (id),
	account_key text NOT NULL, -- reconcile.AccountKey: without blanks, upper case
	account text NOT NULL,
	statement_id text NOT NULL,
	message_id text NOT NULL DEFAULT '',
	electronic_seq bigint NOT NULL DEFAULT 0 CHECK (electronic_seq >= 0), -- ElctrncSeqNb, 0 when absent
	legal_seq bigint NOT NULL DEFAULT 0 CHECK (legal_seq >= 0),           -- LglSeqNb, 0 when absent
	period_from timestamptz,
	period_to timestamptz,
	created timestamptz, -- the statement's CreDtTm
	imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX bank_statements_account ON bank_statements (account_key, statement_id);
