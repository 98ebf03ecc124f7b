-- Vanilla PostgreSQL only (never sent to Nile): what Nile provides built in.
-- Idempotent; runs before the Nile-bound migrations on every `migrate`.

-- Nile's built-in tenants table, same columns.
CREATE TABLE IF NOT EXISTS tenants (
    id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name    text,
    created timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    updated timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    deleted timestamp
);

-- The application's role: not the owner, not superuser, no BYPASSRLS, so row-level security
-- applies to it exactly as Nile's isolation applies to the application in production.
-- Roles are cluster-wide and migrators of other databases may race here: tolerate that.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'inboxfleet_app') THEN
        CREATE ROLE inboxfleet_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
            NOINHERIT NOREPLICATION;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
