-- Locations are stored as Hostwinds location slugs (inboxfleet.locations.SLUG_PATTERN): the plan
-- catalogue, placement, the create-server command and these columns speak one vocabulary, never
-- Hostwinds' numeric location ids.
--
-- NOT VALID: rows written before (billing accounts holding the old catalogue's "1", "2", "3")
-- are not checked now, every write from here on is. Nile forbids one transaction writing several
-- tenants, so there is no data step: billing rewrites allowed_locations from the catalogue at the
-- account's next event or reconcile pass (converge_tenant).
ALTER TABLE servers ADD CONSTRAINT servers_location_slug
    CHECK (location ~ '^[a-z][a-z-]{1,31}$') NOT VALID;
-- Every element a slug: joined with ',' (which no slug holds) the list must read slug,slug,...
-- and have exactly one comma fewer than elements (a NULL element, skipped by array_to_string,
-- or an element holding a comma would break the count).
ALTER TABLE billing_accounts ADD CONSTRAINT billing_accounts_location_slugs
    CHECK (
        cardinality(allowed_locations) = 0
        OR (array_to_string(allowed_locations, ',') ~ '^[a-z][a-z-]{1,31}(,[a-z][a-z-]{1,31})*$'
            AND cardinality(allowed_locations)
                = length(array_to_string(allowed_locations, ','))
                  - length(replace(array_to_string(allowed_locations, ','), ',', '')) + 1)
    ) NOT VALID;
