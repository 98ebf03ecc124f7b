-- Locations are stored as Hostwinds location slugs (inboxfleet.locations.SLUG_PATTERN): the plan
-- catalogue, placement, the create-server command and these columns speak one vocabulary, never
-- Hostwinds' numeric location ids.
ALTER TABLE servers ADD CONSTRAINT servers_location_slug
    CHECK (location ~ '^[a-z][a-z-]{1,31}$');
ALTER TABLE billing_accounts ADD CONSTRAINT billing_accounts_location_slugs
    CHECK (array_to_string(allowed_locations, ' ') ~ '^([a-z][a-z-]{1,31}( |$))*$');
