-- Vanilla PostgreSQL only (never sent to Nile): emulate Nile's tenant isolation with RLS.
-- Idempotent; runs after the Nile-bound migrations on every `migrate`, so every tenant-aware
-- table (any table with a tenant_id column) is covered without anyone remembering to.
--
-- Tenant context: nile.tenant_id, set by tenant sessions. Reads are also open to a named system
-- session (inboxfleet.system_reason with no tenant set), mirroring Nile's "no tenant = all
-- tenants" only where the application asked for it. Writes to tenant rows need the tenant's own
-- context, always. Shared tables refuse any access while a tenant is set: Nile forbids one
-- transaction writing tenant and shared tables, and this makes the tests find such code.

DO $$
DECLARE
    t record;
    tenant_match constant text :=
        'tenant_id = NULLIF(current_setting(''nile.tenant_id'', true), '''')::uuid';
    system_read constant text :=
        'NULLIF(current_setting(''inboxfleet.system_reason'', true), '''') IS NOT NULL '
        'AND NULLIF(current_setting(''nile.tenant_id'', true), '''') IS NULL';
    no_tenant constant text := 'NULLIF(current_setting(''nile.tenant_id'', true), '''') IS NULL';
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO inboxfleet_app', current_database());
    GRANT USAGE ON SCHEMA public TO inboxfleet_app;

    FOR t IN
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables tb
          ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
        WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id'
          AND tb.table_type = 'BASE TABLE'
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.table_name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.table_name);
        EXECUTE format('DROP POLICY IF EXISTS tenant_read ON %I', t.table_name);
        EXECUTE format('DROP POLICY IF EXISTS tenant_insert ON %I', t.table_name);
        EXECUTE format('DROP POLICY IF EXISTS tenant_update ON %I', t.table_name);
        EXECUTE format('DROP POLICY IF EXISTS tenant_delete ON %I', t.table_name);
        EXECUTE format('CREATE POLICY tenant_read ON %I FOR SELECT USING (%s OR %s)',
                       t.table_name, tenant_match, system_read);
        EXECUTE format('CREATE POLICY tenant_insert ON %I FOR INSERT WITH CHECK (%s)',
                       t.table_name, tenant_match);
        EXECUTE format('CREATE POLICY tenant_update ON %I FOR UPDATE USING (%s) WITH CHECK (%s)',
                       t.table_name, tenant_match, tenant_match);
        EXECUTE format('CREATE POLICY tenant_delete ON %I FOR DELETE USING (%s)',
                       t.table_name, tenant_match);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO inboxfleet_app',
                       t.table_name);
    END LOOP;

    -- tenants itself: a tenant sees and updates its own row; only a system session creates one.
    ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
    ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
    DROP POLICY IF EXISTS tenant_read ON tenants;
    DROP POLICY IF EXISTS tenant_insert ON tenants;
    DROP POLICY IF EXISTS tenant_update ON tenants;
    EXECUTE format('CREATE POLICY tenant_read ON tenants FOR SELECT USING '
                   '(id = NULLIF(current_setting(''nile.tenant_id'', true), '''')::uuid OR %s)',
                   system_read);
    EXECUTE format('CREATE POLICY tenant_insert ON tenants FOR INSERT WITH CHECK (%s)',
                   system_read);
    CREATE POLICY tenant_update ON tenants FOR UPDATE
        USING (id = NULLIF(current_setting('nile.tenant_id', true), '')::uuid)
        WITH CHECK (id = NULLIF(current_setting('nile.tenant_id', true), '')::uuid);
    GRANT SELECT, INSERT, UPDATE ON tenants TO inboxfleet_app;

    -- Shared tables: plain grants, no tenant policy (they carry no tenant data). The migration
    -- ledger stays the owner's.
    FOR t IN
        SELECT tb.table_name FROM information_schema.tables tb
        WHERE tb.table_schema = 'public' AND tb.table_type = 'BASE TABLE'
          AND tb.table_name NOT IN ('tenants', 'schema_migrations')
          AND NOT EXISTS (SELECT FROM information_schema.columns c
                          WHERE c.table_schema = 'public' AND c.table_name = tb.table_name
                            AND c.column_name = 'tenant_id')
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.table_name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.table_name);
        EXECUTE format('DROP POLICY IF EXISTS shared_outside_tenants ON %I', t.table_name);
        EXECUTE format('CREATE POLICY shared_outside_tenants ON %I USING (%s) WITH CHECK (%s)',
                       t.table_name, no_tenant, no_tenant);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO inboxfleet_app', t.table_name);
    END LOOP;
    -- A claim goes with its domain (the only shared rows the app deletes).
    GRANT DELETE ON domain_claims TO inboxfleet_app;
END
$$;
