-- The tenant API (inboxfleet.api): addresses that can be requested again once deleted, the
-- indexes its pages read, and the idempotency records of its POSTs.

-- A deleted address can be requested again: only live (not deleted) inboxes hold an address.
ALTER TABLE inboxes DROP CONSTRAINT inboxes_tenant_id_address_key;
CREATE UNIQUE INDEX inboxes_live_address_idx ON inboxes (tenant_id, address)
    WHERE status <> 'deleted';

-- GET /v1/inboxes pages in (created_at, id) order, unfiltered, by status or by domain: one index
-- per shape, each ending in the keyset, so a page is an index range read with no sort.
CREATE INDEX inboxes_tenant_created_idx ON inboxes (tenant_id, created_at, id);
DROP INDEX inboxes_tenant_status_created_idx;
CREATE INDEX inboxes_tenant_status_created_idx ON inboxes (tenant_id, status, created_at, id);
DROP INDEX inboxes_tenant_domain_idx;
CREATE INDEX inboxes_tenant_domain_idx ON inboxes (tenant_id, domain_id, created_at, id);
-- GET /v1/servers pages the same way.
CREATE INDEX servers_tenant_created_idx ON servers (tenant_id, created_at, id);
-- An inbox's timeline, in (occurred_at, id) order: the index ends in the whole sort key.
DROP INDEX inbox_events_timeline_idx;
CREATE INDEX inbox_events_timeline_idx ON inbox_events (tenant_id, inbox_id, occurred_at, id);

-- Powertools idempotency records (inboxfleet.api.idempotency), one per tenant and key: the key
-- is a hash of tenant, method, path and the client's Idempotency-Key, the payload hash is a hash
-- of the body (secret fields left out), and the response is what the first request answered.
CREATE TABLE idempotency_records (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    key                text NOT NULL CHECK (length(key) <= 512),
    status             text NOT NULL CHECK (status IN ('INPROGRESS', 'COMPLETED')),
    expires_at         bigint NOT NULL,      -- unix seconds: after it, the key is free again
    in_progress_expires_at bigint,           -- unix milliseconds: a crashed request's hold ends
    payload_hash       text NOT NULL DEFAULT '',
    response_data      text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, key)
);
-- For purging expired records (reconcile); a new claim takes an expired key anyway.
CREATE INDEX idempotency_records_expires_idx ON idempotency_records (expires_at);
