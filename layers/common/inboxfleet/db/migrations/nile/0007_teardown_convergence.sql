-- Teardown and convergence: what the mail server has of each mailbox, beside what billing and
-- the tenant API want (the inbox's status, a new password), and who is applying it now.

-- The mailbox as last applied on its server: created enabled by the provisioning workflow;
-- `suspended` inboxes converge to disabled, `active` ones to enabled.
ALTER TABLE inboxes ADD COLUMN mailbox_applied text NOT NULL DEFAULT 'enabled'
    CHECK (mailbox_applied IN ('enabled', 'disabled'));
-- A lease, not a lock held across the network: the convergence run named here applies the
-- inbox's mailbox state until then (Nile pools connections: no session advisory locks).
ALTER TABLE inboxes ADD COLUMN mailbox_lease text CHECK (length(mailbox_lease) <= 80);
ALTER TABLE inboxes ADD COLUMN mailbox_lease_until timestamptz;
-- Reconcile finds the inboxes whose server differs from what is wanted with one query.
CREATE INDEX inboxes_mailbox_drift_idx ON inboxes (tenant_id, id)
    WHERE (status = 'active' AND mailbox_applied = 'disabled')
       OR (status = 'suspended' AND mailbox_applied = 'enabled')
       OR (status IN ('active', 'suspended') AND desired_password_ciphertext IS NOT NULL);
