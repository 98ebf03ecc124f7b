-- Core schema. Nile-bound: runs unchanged on Nile (PostgreSQL 15) and on vanilla PostgreSQL.
-- created_at uses clock_timestamp() so rows made in one transaction keep their order.
-- Rules (reference/nile.md): tenant tables lead their primary key with tenant_id and reference
-- tenants(id); uuids, never sequences; no functions, triggers, policies or roles here.

-- Nile's built-in tenants table: `name` is the display name; we add the billing contact.
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS billing_email text
    CHECK (billing_email IS NULL OR billing_email ~ '^[^@\s]+@[^@\s]+$');

CREATE TABLE billing_accounts (
    tenant_id              uuid NOT NULL REFERENCES tenants (id),
    stripe_customer_id     text,
    stripe_subscription_id text,
    subscription_status    text CHECK (subscription_status IN (
        'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused',
        'incomplete', 'incomplete_expired')),
    plan                   text,            -- the price's lookup_key in the plan catalogue
    quantity               integer NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    max_inboxes            integer NOT NULL DEFAULT 0 CHECK (max_inboxes >= 0),
    max_domains            integer NOT NULL DEFAULT 0 CHECK (max_domains >= 0),
    allowed_locations      text[] NOT NULL DEFAULT '{}',
    current_period_end     timestamptz,
    payment_state          text NOT NULL DEFAULT 'ok'
        CHECK (payment_state IN ('ok', 'past_due', 'suspended')),
    created_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);
-- Webhooks arrive keyed by customer; the worker maps customer -> tenant in a system session.
CREATE INDEX billing_accounts_customer_idx ON billing_accounts (stripe_customer_id);
CREATE INDEX billing_accounts_subscription_idx ON billing_accounts (stripe_subscription_id);

CREATE TABLE domains (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    id                  uuid NOT NULL DEFAULT gen_random_uuid(),
    name                text NOT NULL CHECK (name = lower(name) AND length(name) <= 253),
    status              text NOT NULL DEFAULT 'pending_delegation' CHECK (status IN (
        'pending_delegation', 'delegated', 'configured', 'verified', 'degraded', 'removed')),
    hosted_zone_id      text,
    name_servers        text[] NOT NULL DEFAULT '{}',
    verification_report jsonb,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
-- DNS answers and reconcile look domains up by name, across tenants.
CREATE INDEX domains_name_idx ON domains (name);
CREATE INDEX domains_tenant_status_created_idx ON domains (tenant_id, status, created_at);

CREATE TABLE servers (
    tenant_id            uuid NOT NULL REFERENCES tenants (id),
    id                   uuid NOT NULL DEFAULT gen_random_uuid(),
    domain_id            uuid NOT NULL,
    name                 text NOT NULL,   -- ifl-<environment>-<id>: the unique Hostwinds srvrname
    location             text NOT NULL,   -- Hostwinds location id
    provider_instance_id text,            -- Hostwinds serviceid, once known
    ip                   inet,
    host_key_fingerprint text,            -- SHA256:... pinned on first SSH contact
    status               text NOT NULL DEFAULT 'creating' CHECK (status IN (
        'creating', 'installing', 'ready', 'suspended', 'failed',
        'decommissioning', 'decommissioned')),
    mailu_token_ciphertext bytea,         -- KMS ciphertext, never plaintext
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, domain_id) REFERENCES domains (tenant_id, id)
);
CREATE INDEX servers_provider_instance_idx ON servers (provider_instance_id);
CREATE INDEX servers_name_idx ON servers (name);
CREATE INDEX servers_tenant_status_created_idx ON servers (tenant_id, status, created_at);
-- Placement counts a tenant's servers per location.
CREATE INDEX servers_tenant_location_idx ON servers (tenant_id, location);

CREATE TABLE inboxes (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    id                  uuid NOT NULL DEFAULT gen_random_uuid(),
    domain_id           uuid NOT NULL,
    server_id           uuid,
    address             text NOT NULL CHECK (address = lower(address) AND address LIKE '_%@_%'),
    status              text NOT NULL DEFAULT 'awaiting_payment' CHECK (status IN (
        'awaiting_payment', 'queued', 'provisioning', 'active', 'suspended', 'failed',
        'deleting', 'deleted')),
    execution_name      text,             -- <inbox id>-<attempt>: the Step Functions execution
    attempt             integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    failure_reason      text,
    password_ciphertext bytea,            -- KMS ciphertext, never plaintext
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, address),
    FOREIGN KEY (tenant_id, domain_id) REFERENCES domains (tenant_id, id),
    FOREIGN KEY (tenant_id, server_id) REFERENCES servers (tenant_id, id)
);
CREATE INDEX inboxes_tenant_status_created_idx ON inboxes (tenant_id, status, created_at);
CREATE INDEX inboxes_tenant_server_idx ON inboxes (tenant_id, server_id);
CREATE INDEX inboxes_tenant_domain_idx ON inboxes (tenant_id, domain_id);
CREATE INDEX inboxes_execution_name_idx ON inboxes (execution_name);

CREATE TABLE inbox_events (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    inbox_id    uuid NOT NULL,
    step        text NOT NULL CHECK (length(step) BETWEEN 1 AND 64),
    outcome     text NOT NULL CHECK (outcome IN ('started', 'succeeded', 'failed', 'retrying', 'info')),
    detail      jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, inbox_id) REFERENCES inboxes (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX inbox_events_timeline_idx ON inbox_events (tenant_id, inbox_id, occurred_at);

-- Shared (no tenant_id): every Stripe event we received, for de-duplication and audit.
CREATE TABLE stripe_events (
    event_id     text PRIMARY KEY CHECK (event_id ~ '^evt_[A-Za-z0-9_]+$'),
    type         text NOT NULL,
    created      timestamptz NOT NULL,      -- Stripe's event.created
    customer_id  text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    outcome      text CHECK (outcome IN ('applied', 'ignored', 'failed'))
);
CREATE INDEX stripe_events_unprocessed_idx ON stripe_events (received_at) WHERE processed_at IS NULL;
CREATE INDEX stripe_events_customer_idx ON stripe_events (customer_id, created);
