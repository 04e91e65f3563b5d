-- Refunds finance carries out by hand in the platform's back office
-- (platforms without a refund call, such as epay21). One task per refund
-- outbox job; the Storno posting is written when the task is marked done.
CREATE TABLE refund_tasks (
	id bigserial PRIMARY KEY,
	outbox_job_id bigint NOT NULL UNIQUE REFERENCES payment_outbox (id),
	payment_id bigint NOT NULL REFERENCES payments (id),
	amount_cents bigint NOT NULL CHECK (amount_cents > 0),
	reason text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	done_by text,
	done_at timestamptz,
	note text NOT NULL DEFAULT '',
	storno_posting_id bigint REFERENCES postings (id),
	CHECK ((done_at IS NULL) = (done_by IS NULL))
);
CREATE INDEX refund_tasks_open ON refund_tasks (created_at) WHERE done_at IS NULL;

-- The VAT rate of a service's fee, in hundredths of a percent (1900 =
-- 19 %), sent to platforms that want it per item (XBezahldienste taxRate).
ALTER TABLE service_accounting ADD COLUMN tax_rate_bp int NOT NULL DEFAULT 0
	CHECK (tax_rate_bp BETWEEN 0 AND 10000);
