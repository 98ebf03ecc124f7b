-- The tenant API, part 2: domains a tenant really controls (delegation decides), and the
-- desired mailbox password the tenant can set.

-- A removed domain can be added again: only live (not removed) domains hold a name per tenant.
ALTER TABLE domains DROP CONSTRAINT domains_tenant_id_name_key;
CREATE UNIQUE INDEX domains_live_name_idx ON domains (tenant_id, name) WHERE status <> 'removed';
-- GET /v1/domains pages in (created_at, id) order.
CREATE INDEX domains_tenant_created_idx ON domains (tenant_id, created_at, id);
-- What the parent zone said when last asked, and when: the API shows it, reconcile re-asks.
ALTER TABLE domains ADD COLUMN delegation_checked_at timestamptz;
ALTER TABLE domains ADD COLUMN delegation_found text[] NOT NULL DEFAULT '{}';

-- Shared (no tenant_id; written in a system session, never in a transaction with tenant rows):
-- who claims which name. Several tenants may hold a pending claim on one name (each has its
-- own zone and name servers); a claim becomes exclusive once the parent zone delegates to that
-- claimant's zone, which at most one claim per name can be.
CREATE TABLE domain_claims (
    name         text NOT NULL CHECK (name = lower(name) AND length(name) <= 253),
    claimant     uuid NOT NULL,          -- the tenant; not named tenant_id: a shared table
    domain_id    uuid NOT NULL,
    zone_id      text NOT NULL,
    name_servers text[] NOT NULL,        -- the claimant's zone's own: what delegation names
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delegated')),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    delegated_at timestamptz,
    PRIMARY KEY (name, claimant)
);
CREATE UNIQUE INDEX domain_claims_delegated_idx ON domain_claims (name) WHERE state = 'delegated';
CREATE INDEX domain_claims_domain_idx ON domain_claims (domain_id);

-- A new mailbox password the tenant asked for (KMS ciphertext, bound to the inbox), waiting to
-- be applied on the mail server by the convergence step; NULL once applied.
ALTER TABLE inboxes ADD COLUMN desired_password_ciphertext bytea;
ALTER TABLE inboxes ADD COLUMN password_requested_at timestamptz;
