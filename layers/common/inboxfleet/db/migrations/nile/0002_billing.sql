-- Billing: the last known state of every Stripe subscription and invoice of a tenant, each with
-- its watermark (the Stripe event it came from), so out-of-order deliveries never roll back.
-- The account's limits and payment state are derived from these rows (inboxfleet.billing).

CREATE TABLE billing_subscriptions (
    tenant_id            uuid NOT NULL REFERENCES tenants (id),
    subscription_id      text NOT NULL CHECK (subscription_id ~ '^sub_[A-Za-z0-9_]+$'),
    status               text NOT NULL CHECK (status IN (
        'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused',
        'incomplete', 'incomplete_expired')),
    items                jsonb NOT NULL DEFAULT '[]',   -- [{"lookup_key": ..., "quantity": n}]
    current_period_end   timestamptz,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    ended_at             timestamptz,
    cancellation_reason  text,
    subscription_created timestamptz NOT NULL,          -- the subscription's own creation
    event_created        timestamptz NOT NULL,          -- watermark: Stripe event.created
    event_id             text NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, subscription_id)
);

CREATE TABLE billing_invoices (
    tenant_id            uuid NOT NULL REFERENCES tenants (id),
    invoice_id           text NOT NULL CHECK (invoice_id ~ '^in_[A-Za-z0-9_]+$'),
    subscription_id      text,
    status               text NOT NULL CHECK (status IN (
        'draft', 'open', 'paid', 'uncollectible', 'void')),
    amount_due           bigint NOT NULL CHECK (amount_due >= 0),
    amount_paid          bigint NOT NULL CHECK (amount_paid >= 0),
    currency             text NOT NULL,
    attempt_count        integer NOT NULL CHECK (attempt_count >= 0),
    next_payment_attempt timestamptz,
    hosted_invoice_url   text,
    invoice_created      timestamptz NOT NULL,
    event_created        timestamptz NOT NULL,          -- watermark: Stripe event.created
    event_id             text NOT NULL,
    reminded_attempt     integer NOT NULL DEFAULT 0,    -- last attempt a reminder went out for
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, invoice_id)
);

ALTER TABLE billing_accounts ADD COLUMN teardown_after timestamptz;

-- Why billing suspended an inbox (billing only ever undoes its own suspensions), and when a
-- downgrade's excess inbox is due to be suspended (the end of the paid period).
ALTER TABLE inboxes ADD COLUMN suspension_reason text
    CHECK (suspension_reason IN ('non_payment', 'canceled', 'over_limit'));
ALTER TABLE inboxes ADD COLUMN suspend_at timestamptz;

-- One metered usage report per tenant and day: a second run of the same day sends nothing.
CREATE TABLE usage_reports (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    day         date NOT NULL,
    event_name  text NOT NULL,
    value       integer NOT NULL CHECK (value >= 0),
    identifier  text NOT NULL,
    reported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, day)
);

-- Why an event ended as it did (ignored type, the last failure, why it was parked in the DLQ).
ALTER TABLE stripe_events ADD COLUMN detail text;
ALTER TABLE stripe_events DROP CONSTRAINT stripe_events_outcome_check;
ALTER TABLE stripe_events ADD CONSTRAINT stripe_events_outcome_check
    CHECK (outcome IN ('applied', 'ignored', 'failed', 'parked'));
