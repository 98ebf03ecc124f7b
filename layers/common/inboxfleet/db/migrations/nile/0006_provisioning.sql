-- The provisioning saga: one live server per domain, orders recorded before they are placed,
-- and who a server was ordered for (compensation undoes only its own execution's purchase).

-- The database decides a race between two reservations on one domain: at most one server per
-- domain is being built or in service. Failed and decommissioned ones stay as history.
CREATE UNIQUE INDEX servers_live_domain_idx ON servers (tenant_id, domain_id)
    WHERE status IN ('creating', 'installing', 'ready', 'suspended');
-- When the order for this server was (maybe) sent to Hostwinds. Written before the call: a
-- retry that never saw the first answer looks the name up instead of buying again.
ALTER TABLE servers ADD COLUMN ordered_at timestamptz;
-- The inbox whose workflow ordered the server, and that workflow's execution (an attempt
-- re-orders a blocklisted address once; its compensation may terminate what it bought).
ALTER TABLE servers ADD COLUMN ordered_for uuid;
ALTER TABLE servers ADD COLUMN ordered_by text CHECK (length(ordered_by) <= 80);
-- Why the server failed, for the inboxes that were waiting for it.
ALTER TABLE servers ADD COLUMN failure_reason text CHECK (length(failure_reason) <= 500);
