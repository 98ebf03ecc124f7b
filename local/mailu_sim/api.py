"""Mailu 2024.06's REST API (core/admin/mailu/api/v1), the part the installer uses, without HTTP:
`MailuApi.handle(...)` takes a request and returns the response Mailu would give.

The pipeline is Mailu's: the blueprint exists only with `API=true` (else Flask's HTML 404) and
a non-empty API_TOKEN (else HTML 500 "API_TOKEN is not configured"); flask-restx routes
(unknown: 404, wrong method: 405), then validates the JSON payload (415/400), then
`api_token_authorization` (401 without an Authorization header, 403 for a wrong token; the token
may carry a `Bearer ` prefix), then the resource. flask-restx's `abort()` answers
`{"message": ...}` only; the resources answer `{"code": N, "message": ...}`.
Routes: GET/POST /domain, GET/PATCH/DELETE /domain/<name>, POST /domain/<name>/dkim,
GET/POST /user, GET/PATCH/DELETE /user/<email>. Aliases, relays, tokens and managers are not
simulated (404). The rate limiter (429) is not simulated.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any
from urllib.parse import unquote, urlsplit

from local.mailu_sim import schema, validators
from local.mailu_sim.records import MailuConfig, dns_fields
from local.mailu_sim.store import (
    DomainRow,
    Store,
    UserRow,
    dkim_public_key,
    generate_dkim_key,
    hash_password,
)

NOT_FOUND_TEXT = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)
_HTML_404 = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    f"<p>{NOT_FOUND_TEXT}</p>\n"
)
FORWARD_MANDATORY = "forward_destination is mandatory when forward_enabled is true"
_USER_FIELDS = [f.name for f in fields(UserRow) if f.name not in ("email", "password")]
_DOMAIN_FIELDS = ("comment", "max_users", "max_aliases", "max_quota_bytes", "signup_enabled")

Reply = tuple[int, Any]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.content_type == "application/json" else None


def _json(status: int, payload: Any) -> Response:
    # flask-restx's output_json: json.dumps with default separators, plus a newline.
    return Response(status, (json.dumps(payload) + "\n").encode(), "application/json")


def _html(status: int, text: str) -> Response:
    return Response(status, text.encode(), "text/html; charset=utf-8")


def _message(code: int, message: str, status: int | None = None) -> Reply:
    return (status or code), {"code": code, "message": message}


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    methods: Mapping[str, tuple[str, schema.Schema | None]]  # method -> (handler, payload)


_ROUTES = (
    _Route(
        re.compile(r"/domain"),
        {"GET": ("list_domains", None), "POST": ("create_domain", schema.DOMAIN_CREATE)},
    ),
    _Route(
        re.compile(r"/domain/([^/]+)"),
        {
            "GET": ("find_domain", None),
            "PATCH": ("update_domain", schema.DOMAIN_UPDATE),
            "DELETE": ("delete_domain", None),
        },
    ),
    _Route(re.compile(r"/domain/([^/]+)/dkim"), {"POST": ("generate_dkim", None)}),
    _Route(
        re.compile(r"/user"),
        {"GET": ("list_users", None), "POST": ("create_user", schema.USER_CREATE)},
    ),
    _Route(
        re.compile(r"/user/([^/]+)"),
        {
            "GET": ("find_user", None),
            "PATCH": ("update_user", schema.USER_UPDATE),
            "DELETE": ("delete_user", None),
        },
    ),
)


class MailuApi:
    def __init__(self, store: Store, env: Callable[[], Mapping[str, str]]) -> None:
        self.store = store
        self._env = env

    def config(self) -> MailuConfig:
        return MailuConfig.from_env(self._env())

    # ---- the pipeline ------------------------------------------------------------------

    def handle(
        self,
        method: str,
        target: str,
        *,
        authorization: str | None,
        content_type: str | None,
        body: bytes,
    ) -> Response:
        config = self.config()
        path = unquote(urlsplit(target).path)
        root = config.web_api.rstrip("/")
        if not config.api or not (path == root or path.startswith(root + "/")):
            return _html(404, _HTML_404)
        if not config.api_token:
            return _html(500, "<p>Error: API_TOKEN is not configured</p>")
        base = f"{root}/v1"
        if not path.startswith(base + "/"):
            return _html(404, _HTML_404)
        return self._resource(
            config,
            method,
            path[len(base) :],
            authorization=authorization,
            content_type=content_type,
            body=body,
        )

    def _resource(
        self,
        config: MailuConfig,
        method: str,
        path: str,
        *,
        authorization: str | None,
        content_type: str | None,
        body: bytes,
    ) -> Response:
        for route in _ROUTES:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if method not in route.methods:
                return _json(405, {"message": "The method is not allowed for the requested URL."})
            handler, payload_schema = route.methods[method]
            data: Any = None
            if payload_schema is not None:
                parsed = _payload(content_type, body)
                if isinstance(parsed, Response):
                    return parsed
                found = schema.errors(parsed, payload_schema)
                if found:
                    return _json(
                        400, {"errors": found, "message": "Input payload validation failed"}
                    )
                data = parsed
            denied = _authorize(config, authorization)
            if denied is not None:
                return denied
            with self.store.lock:
                status, reply = getattr(self, "_" + handler)(config, data, *match.groups())
            return _json(status, reply)
        return _json(404, {"message": NOT_FOUND_TEXT})

    # ---- domains -------------------------------------------------------------------------

    def _list_domains(self, config: MailuConfig, data: Any) -> Reply:
        # marshal_with(..., skip_none=True): fields that are None are left out of the list.
        rows = [self._domain_out(row, config) for row in self.store.domains.values()]
        return 200, [{k: v for k, v in row.items() if v is not None} for row in rows]

    def _create_domain(self, config: MailuConfig, data: dict[str, Any]) -> Reply:
        name = data["name"]
        if not validators.domain(name):
            return _message(400, f"Domain {name} is not a valid domain")
        if self.store.fqdn_in_use(name):
            return _message(409, f"Duplicate domain name {name}")
        refused = self._check_alternatives(data)
        if refused is not None:
            return refused
        row = DomainRow(
            name=name.lower(), alternatives=[a.lower() for a in data.get("alternatives", [])]
        )
        self._apply_domain(row, data)
        self.store.domains[row.name] = row
        return _message(200, f"Domain {name} has been created")

    def _find_domain(self, config: MailuConfig, data: Any, domain: str) -> Reply:
        if not validators.domain(domain):
            # Mailu answers this one with HTTP 200 and the error in the body.
            return _message(400, f"Domain {domain} is not a valid domain", status=200)
        row = self.store.domains.get(domain.lower())
        if row is None:
            return _message(404, f"Domain {domain} does not exist")
        return 200, self._domain_out(row, config)

    def _update_domain(self, config: MailuConfig, data: dict[str, Any], domain: str) -> Reply:
        if not validators.domain(domain):
            return _message(400, f"Domain {domain} is not a valid domain")
        row = self.store.domains.get(domain.lower())
        if row is None:
            return _message(404, f"Domain {domain} does not exist")
        refused = self._check_alternatives(data)
        if refused is not None:
            return refused
        row.alternatives += [a.lower() for a in data.get("alternatives", [])]
        self._apply_domain(row, data)
        return _message(200, f"Domain {domain} has been updated")

    def _delete_domain(self, config: MailuConfig, data: Any, domain: str) -> Reply:
        if not validators.domain(domain):
            return _message(400, f"Domain {domain} is not a valid domain")
        if domain.lower() not in self.store.domains:
            return _message(404, f"Domain {domain} does not exist")
        self.store.delete_domain(domain)
        return _message(200, f"Domain {domain} has been deleted")

    def _generate_dkim(self, config: MailuConfig, data: Any, domain: str) -> Reply:
        if not validators.domain(domain):
            return _message(400, f"Domain {domain} is not a valid domain")
        if domain.lower() not in self.store.domains:
            return _message(404, f"Domain {domain} does not exist")
        self.store.dkim_keys[domain.lower()] = generate_dkim_key()
        return _message(200, f"DKIM/DMARC keys have been generated for domain {domain}")

    def _check_alternatives(self, data: dict[str, Any]) -> Reply | None:
        items = data.get("alternatives")
        if items is None:
            return None
        if len(set(items)) != len(items):
            return _message(409, "Duplicate alternative domain names in request")
        for item in items:
            if self.store.fqdn_in_use(item):
                return _message(409, f"Duplicate alternative domain name {item}")
            if not validators.domain(item):
                return _message(400, f"Alternative domain {item} is not a valid domain")
        return None

    @staticmethod
    def _apply_domain(row: DomainRow, data: dict[str, Any]) -> None:
        for name in _DOMAIN_FIELDS:
            if name in data:
                setattr(row, name, data[name])

    def _domain_out(self, row: DomainRow, config: MailuConfig) -> dict[str, Any]:
        key = self.store.dkim_keys.get(row.name)
        return {
            "name": row.name,
            "comment": row.comment,
            "managers": [],
            "max_users": row.max_users,
            "max_aliases": row.max_aliases,
            "max_quota_bytes": row.max_quota_bytes,
            "signup_enabled": row.signup_enabled,
            "alternatives": list(row.alternatives),
            **dns_fields(row.name, config, dkim_public_key(key) if key else None),
        }

    # ---- users ---------------------------------------------------------------------------

    def _list_users(self, config: MailuConfig, data: Any) -> Reply:
        rows = [_user_out(row) for row in self.store.users.values()]
        return 200, [{k: v for k, v in row.items() if v is not None} for row in rows]

    def _create_user(self, config: MailuConfig, data: dict[str, Any]) -> Reply:
        email = data["email"]
        refused = _email_refusal(email, data) or self._domain_refusal(email)
        if refused is None:
            refused = _forward_missing(data, forward_enabled=False, creating=True)
        if refused is not None:
            return refused
        row = UserRow(
            email=email.lower(),
            password=hash_password(data["raw_password"], config.credential_rounds),
        )
        _apply_user(row, data, config)
        self.store.users[row.email] = row
        return _message(200, f"User {email} has been created")

    def _domain_refusal(self, email: str) -> Reply | None:
        domain_name = email.lower().rsplit("@", 1)[1]
        domain = self.store.domains.get(domain_name)
        if domain is None:
            return _message(404, f"Domain {domain_name} does not exist")
        users = [u for u in self.store.users.values() if u.domain == domain_name]
        if domain.max_users != -1 and len(users) >= domain.max_users:
            return _message(409, f"Too many users for domain {domain_name}")
        if email.lower() in self.store.users:
            return _message(409, f"User {email} already exists")
        return None

    def _find_user(self, config: MailuConfig, data: Any, email: str) -> Reply:
        if not validators.email(email):
            return _message(400, f"Provided email address {email} is not a valid email address")
        row = self.store.users.get(email.lower())
        if row is None:
            return _message(404, f"User {email} cannot be found")
        return 200, _user_out(row)

    def _update_user(self, config: MailuConfig, data: dict[str, Any], email: str) -> Reply:
        refused = _email_refusal(email, data)
        if refused is not None:
            return refused
        row = self.store.users.get(email.lower())
        if row is None:
            return _message(404, f"User {email} cannot be found")
        refused = _forward_missing(data, forward_enabled=row.forward_enabled, creating=False)
        if refused is not None:
            return refused
        _apply_user(row, data, config)
        return _message(200, f"User {email} has been updated")

    def _delete_user(self, config: MailuConfig, data: Any, email: str) -> Reply:
        if not validators.email(email):
            return _message(400, f"Provided email address {email} is not a valid email address")
        if email.lower() not in self.store.users:
            return _message(404, f"User {email} cannot be found")
        del self.store.users[email.lower()]
        return _message(200, f"User {email} has been deleted")


def _payload(content_type: str | None, body: bytes) -> Any:
    """`request.get_json()` as Flask (non-debug) answers it; a Response when it refuses."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime != "application/json" and not (
        mime.startswith("application/") and mime.endswith("+json")
    ):
        return _json(
            415,
            {
                "message": "Did not attempt to load JSON data because the request Content-Type "
                "was not 'application/json'."
            },
        )
    try:
        return json.loads(body)
    except ValueError:
        return _json(
            400,
            {
                "message": "The browser (or proxy) sent a request that this server could not "
                "understand."
            },
        )


def _authorize(config: MailuConfig, authorization: str | None) -> Response | None:
    if not authorization:
        return _json(401, {"message": "A valid Authorization header is mandatory"})
    token = authorization.removeprefix("Bearer ")
    if len(config.api_token) < 4 or not hmac.compare_digest(
        token.encode(), config.api_token.encode()
    ):
        return _json(403, {"message": "Invalid API token"})
    return None


def _email_refusal(email: str, data: dict[str, Any]) -> Reply | None:
    """The address and any forward destinations must be valid addresses (400)."""
    for address in [email, *(data.get("forward_destination") or [])]:
        if not validators.email(address):
            kind = "email" if address is email else "forward destination email"
            return _message(400, f"Provided {kind} address {address} is not a valid email address")
    return None


def _forward_missing(
    data: dict[str, Any], *, forward_enabled: bool, creating: bool
) -> Reply | None:
    """Forwarding on needs destinations: on create when none are given, on create or update
    when the request sends an empty list."""
    destinations = data.get("forward_destination")
    missing = destinations == [] or (creating and destinations is None)
    if data.get("forward_enabled", forward_enabled) is True and missing:
        return _message(400, FORWARD_MANDATORY)
    return None


def _apply_user(row: UserRow, data: dict[str, Any], config: MailuConfig) -> None:
    if "raw_password" in data:
        row.password = hash_password(data["raw_password"], config.credential_rounds)
    for name in _USER_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name in ("reply_startdate", "reply_enddate"):
            value = date.fromisoformat(value)
        if name == "forward_destination" and not value:
            continue  # an empty list leaves the destinations as they are
        setattr(row, name, value)


def _user_out(row: UserRow) -> dict[str, Any]:
    out: dict[str, Any] = {"email": row.email, "password": row.password}
    for name in _USER_FIELDS:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out
