-- Reconcile: what the last pass saw of each server at Hostwinds, the instances it found with no
-- row, and the lease that keeps two passes from working at once.

-- Hostwinds' own status of the instance as a pass last recorded it (NULL: ACTIVE, as the
-- workflow saw it) and when that changed. A server whose instance is no longer listed is
-- `failed` with the reason `server_lost` (its inboxes too).
ALTER TABLE servers ADD COLUMN provider_status text CHECK (length(provider_status) <= 40);
ALTER TABLE servers ADD COLUMN provider_status_at timestamptz;

-- Instances named like this environment's servers with no row at all (a restored database,
-- most likely): reported from the first pass that saw them, never terminated automatically.
CREATE TABLE rowless_instances (
    serviceid   bigint PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) <= 200),
    ip          inet,
    status      text CHECK (length(status) <= 40),
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    -- Set when a pass no longer lists it, or an operator terminated it after review.
    resolved_at timestamptz,
    resolution  text CHECK (resolution IN ('gone', 'row_found', 'terminated'))
);

-- One row per job; a pass holds it until `held_until` (a lease, not a session advisory lock:
-- Nile pools connections). `resume_part` is where a pass that ran out of time stopped.
CREATE TABLE reconcile_leases (
    name        text PRIMARY KEY CHECK (length(name) <= 40),
    holder      text CHECK (length(holder) <= 80),
    held_until  timestamptz,
    resume_part text CHECK (length(resume_part) <= 40),
    last_pass   jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Stuck work is found by status and age (failed: an undoing left unfinished, which the
-- timeline's own index then tells).
CREATE INDEX inboxes_status_updated_idx ON inboxes (status, updated_at)
    WHERE status IN ('queued', 'provisioning', 'deleting', 'failed');

-- What we last published in a domain's zone for its mail server (mail host, address, DKIM
-- public key: nothing secret), so reconcile can check the records and put back ours; and when
-- reconcile last re-verified it (domains are re-verified in rotating batches, oldest first).
ALTER TABLE domains ADD COLUMN published jsonb;
ALTER TABLE domains ADD COLUMN dns_checked_at timestamptz;
CREATE INDEX domains_recheck_idx ON domains (dns_checked_at NULLS FIRST)
    WHERE status IN ('verified', 'degraded') AND published IS NOT NULL;
