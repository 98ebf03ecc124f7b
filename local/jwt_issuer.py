"""A local OpenID issuer: the stand-in for the Cognito user pool whose tokens the HTTP API's JWT
authorizer accepts.

    with LocalIssuer() as issuer:
        token = issuer.mint({"custom:tenant_id": tenant}, audience="inboxfleet-local")

It makes an RS256 key pair when it starts (never written anywhere: a restart invalidates every
token it minted) and publishes what an authorizer needs to check its tokens, as Cognito does:
the discovery document at `/.well-known/openid-configuration` (issuer = the root URL, exactly
the `iss` of its tokens) and the public key set at `/.well-known/jwks.json`.
"""

from __future__ import annotations

import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Self

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from local.loopback import HttpSimulator, LoopbackHTTPServer, QuietHandler

ALGORITHM = "RS256"
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
# Local only (Cognito has no such thing): `inboxfleet-local token` asks a running cloud here.
TOKEN_PATH = "/local/token"  # noqa: S105 - a path, not a secret
MAX_TOKEN_LIFETIME_S = 86_400

# What the token endpoint mints for a tenant id and a lifetime (the cloud knows the claim's name
# and the audience).
TenantTokens = Callable[[str, int], str]


class _Handler(QuietHandler):
    server: LoopbackHTTPServer[LocalIssuer]

    def do_GET(self) -> None:
        issuer = self.server.owner
        path, _, query = self.path.partition("?")
        if path == JWKS_PATH:
            self.send_json(HTTPStatus.OK, issuer._served_jwks())
        elif path == DISCOVERY_PATH:
            self.send_json(HTTPStatus.OK, issuer.discovery())
        elif path == TOKEN_PATH and issuer.tenant_tokens is not None:
            # Loopback names only: a web page whose name was rebound to 127.0.0.1 (DNS
            # rebinding) sends its own name and gets no token.
            loopback = {f"127.0.0.1:{issuer.port}", f"localhost:{issuer.port}"}
            if self.headers.get("Host") not in loopback:
                self.send_json(HTTPStatus.FORBIDDEN, {"message": "Forbidden"})
                return
            self._send_token(issuer.tenant_tokens, urllib.parse.parse_qs(query))
        else:
            self.send_json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})

    def _send_token(self, tokens: TenantTokens, query: dict[str, list[str]]) -> None:
        tenant = (query.get("tenant") or [""])[-1]
        lifetime = (query.get("expires_in") or ["3600"])[-1]
        if not tenant or not lifetime.isdigit() or not 0 < int(lifetime) <= MAX_TOKEN_LIFETIME_S:
            message = f"tenant=<id> and expires_in=1..{MAX_TOKEN_LIFETIME_S} are required"
            self.send_json(HTTPStatus.BAD_REQUEST, {"message": message})
            return
        self.send_body(HTTPStatus.OK, tokens(tenant, int(lifetime)).encode(), "text/plain")


class LocalIssuer(HttpSimulator):
    """An OpenID issuer on loopback signing RS256 tokens with a key made at start.

    `clock` gives the `iat`/`exp` of minted tokens (a FakeClock shared with the API's authorizer
    lets a test expire a token without waiting). `kid` names the key (random by default).
    """

    kind = "JWT issuer"
    handler = _Handler

    def __init__(
        self, *, port: int = 0, kid: str | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(port)
        self._kid = kid or secrets.token_hex(8)
        self._clock = clock
        self._key: rsa.RSAPrivateKey | None = None
        self._jwks_served = 0
        self._lock = threading.Lock()
        # Set by the local cloud: serves `GET /local/token?tenant=<id>&expires_in=<s>`.
        self.tenant_tokens: TenantTokens | None = None

    def __repr__(self) -> str:  # never shows key material
        state = "running" if self._serving is not None else "stopped"
        return f"<LocalIssuer kid={self._kid} {state}>"

    def start(self) -> Self:
        # A fresh key per start: tokens from an earlier run must not verify against this one.
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return super().start()

    @property
    def kid(self) -> str:
        return self._kid

    @property
    def issuer(self) -> str:
        """The `iss` of every token: the root URL, as the discovery document says."""
        return self.root_url

    @property
    def jwks_uri(self) -> str:
        return self.root_url + JWKS_PATH

    @property
    def jwks_served(self) -> int:
        """How many times the key set was fetched over HTTP (to see an authorizer's caching)."""
        with self._lock:
            return self._jwks_served

    def jwks(self) -> dict[str, Any]:
        """The public key set, as served at `/.well-known/jwks.json`."""
        public = RSAAlgorithm.to_jwk(self._private_key().public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self._kid, "alg": ALGORITHM, "use": "sig"}]}

    def discovery(self) -> dict[str, Any]:
        """The OpenID discovery document (the fields an authorizer reads, plus the ones the
        specification requires)."""
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "response_types_supported": ["code", "token"],
            "subject_types_supported": ["public"],
        }

    def mint(
        self,
        claims: Mapping[str, Any],
        *,
        audience: str | Sequence[str] | None,
        expires_in_s: int = 3600,
        subject: str | None = None,
    ) -> str:
        """A signed token: `iss`, `aud` (one audience or several; None leaves it out, as in a
        Cognito access token, which names its client in `client_id`), `iat`, `exp` (`iat` +
        `expires_in_s`: negative for an expired token) and `sub` (a random UUID unless given, as
        Cognito's), then `claims`, which may override any of them (a wrong `iss`, a future
        `nbf`)."""
        return self._sign(self.issuer, self._kid, claims, audience, expires_in_s, subject=subject)

    def forge_as(
        self,
        target: LocalIssuer,
        claims: Mapping[str, Any],
        *,
        audience: str | Sequence[str] | None,
        expires_in_s: int = 3600,
        subject: str | None = None,
    ) -> str:
        """A token naming `target` (its `iss` and `kid`) but signed with this issuer's key: a
        forgery an authorizer must refuse on the signature alone."""
        return self._sign(
            target.issuer, target.kid, claims, audience, expires_in_s, subject=subject
        )

    def _sign(
        self,
        issuer: str,
        kid: str,
        claims: Mapping[str, Any],
        audience: str | Sequence[str] | None,
        expires_in_s: int,
        *,
        subject: str | None,
    ) -> str:
        now = int(self._clock())
        payload: dict[str, Any] = {"iss": issuer}
        if audience is not None:
            payload["aud"] = audience if isinstance(audience, str) else list(audience)
        payload |= {
            "iat": now,
            "exp": now + expires_in_s,
            "sub": subject if subject is not None else str(uuid.uuid4()),
            **claims,
        }
        return jwt.encode(payload, self._private_key(), algorithm=ALGORITHM, headers={"kid": kid})

    def _served_jwks(self) -> dict[str, Any]:
        with self._lock:
            self._jwks_served += 1
        return self.jwks()

    def _private_key(self) -> rsa.RSAPrivateKey:
        if self._key is None:
            raise RuntimeError("the JWT issuer is not running: its key is made at start")
        return self._key
