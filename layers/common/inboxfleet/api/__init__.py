"""The tenant API (functions/tenant_api): Powertools' APIGatewayHttpResolver with validation on,
one Router per resource, domain errors mapped to HTTP in one place (inboxfleet.api.errors), the
caller's tenant from the JWT claims API Gateway verified (inboxfleet.api.identity)."""
