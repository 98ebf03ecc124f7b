"""A local API Gateway HTTP API (what `sam local start-api` gives, without Docker): the
template's `HttpApi` routes served on loopback, each request checked by the route's JWT
authorizer as API Gateway checks it, then handed to the function as a payload format 2.0 event,
and the function's answer mapped back to HTTP as API Gateway maps it.

    routes, authorizers = routes_from_template(template, stack.resolve)
    with LocalHttpApi(routes, authorizers, invoke) as api:
        httpx.post(api.root_url + "/webhooks/stripe", ...)

`invoke(logical_id, event)` runs the function and returns what its handler returned; raising
means the function errored (API Gateway answers 500). Nothing here runs a handler itself, so
the caller decides how (in process: `in_process_invoker`; through the local Lambda: its own).

Faithful to the real service where a function can tell the difference:
- the event (rawPath percent-decoded as HTTP APIs deliver it, cookies split out of the
  headers, repeated headers and query keys joined with commas, bodies base64-encoded unless
  their content type is text, claims as strings);
- the authorizer runs before the function is ever invoked: signature against the issuer's
  published keys (fetched over HTTP through its discovery document, cached two hours), `iss`,
  `aud`/`client_id`, `exp`, `nbf`, `iat`, route scopes; any failure is the 401 (or 403 for
  scopes) API Gateway gives, with its `www-authenticate` header;
- limits: 10 MB request bodies, 6 MB events (Lambda's synchronous payload limit).
Not simulated: throttling, CORS, custom domains and stages other than `$default`, Lambda and
IAM authorizers, payload format 1.0 (routes_from_template refuses what it cannot serve).

Modules: `routes` (the template's routes and authorizers, route selection), `authorizer` (JWT
verification, the issuer's keys), `events` (the 2.0 event, the response mapping), `server`
(LocalHttpApi, its HTTP handler, in_process_invoker).
"""

from __future__ import annotations

from local.api_gateway.authorizer import JwksSource, claim_text
from local.api_gateway.events import Reply, Request, response_from_result
from local.api_gateway.routes import JwtAuthorizerConfig, Route, RouteError, routes_from_template
from local.api_gateway.server import Invoke, LocalHttpApi, in_process_invoker

__all__ = [
    "Invoke",
    "JwksSource",
    "JwtAuthorizerConfig",
    "LocalHttpApi",
    "Reply",
    "Request",
    "Route",
    "RouteError",
    "claim_text",
    "in_process_invoker",
    "response_from_result",
    "routes_from_template",
]
