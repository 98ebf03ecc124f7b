"""The local HTTP API's JWT authorizer: a token verified as API Gateway verifies it (signature
against the issuer's published keys, `iss`, `aud`/`client_id`, `exp`, `nbf`, `iat`, route
scopes), the issuer's key set fetched through its discovery document and cached, and
`claim_text`, the claims as the event carries them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt.algorithms import RSAAlgorithm
from jwt.types import Options

from local.api_gateway.routes import JwtAuthorizerConfig, Route

log = logging.getLogger("local.api_gateway")

# Where an authorizer's signing keys come from: a callable giving the JWKS itself, or an issuer
# URL whose `/.well-known/openid-configuration` names the `jwks_uri` (what API Gateway fetches).
JwksSource = Callable[[], Mapping[str, Any]] | str

JWKS_TTL_S = 2 * 3600.0  # "API Gateway can cache the public key for two hours"
FETCH_TIMEOUT_S = 5.0
MAX_FETCH_BYTES = 1 << 20
# API Gateway's JWT authorizers take RSA-signed tokens only.
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})


# ---- the JWT authorizer --------------------------------------------------------------------


class Denied(Exception):
    """The authorizer refuses the request (401, or 403 for scopes)."""

    def __init__(
        self, description: str, *, status: int = HTTPStatus.UNAUTHORIZED, scope: str = ""
    ) -> None:
        super().__init__(description)
        self.status = status
        error = "insufficient_scope" if status == HTTPStatus.FORBIDDEN else "invalid_token"
        # The form API Gateway answers with (its documentation shows `Bearer scope=""
        # error="invalid_token" error_description="the token does not have a valid audience"`).
        # Both parts are this module's text (the route's scopes, our descriptions), never the
        # caller's; quotes and line breaks are dropped all the same.
        scope, description = _quoted_text(scope), _quoted_text(description)
        self.challenge = f'Bearer scope="{scope}" error="{error}" error_description="{description}"'


def _quoted_text(text: str) -> str:
    """Text safe inside a quoted header parameter: printable ASCII, no quote or backslash."""
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')


class _KeysUnavailable(Exception):
    """The issuer's keys could not be fetched (the request is refused, nothing is cached)."""


class KeySet:
    """One authorizer's signing keys by `kid`, fetched when first needed and kept for the TTL
    (as API Gateway caches them: a key rotated at the issuer is not seen before it expires)."""

    def __init__(self, source: JwksSource, ttl_s: float) -> None:
        self._source = source
        self._ttl_s = ttl_s
        self._keys: dict[str, tuple[Any, str | None]] | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def key(self, kid: str) -> tuple[Any, str | None] | None:
        """(public key, its JWK `alg` if it names one) for `kid`; None when the set has no
        such key."""
        with self._lock:  # one fetch at a time; requests meanwhile wait for its result
            if self._keys is None or time.monotonic() - self._fetched_at >= self._ttl_s:
                self._keys = _rsa_keys(self._fetch())
                self._fetched_at = time.monotonic()
            return self._keys.get(kid)

    def _fetch(self) -> Mapping[str, Any]:
        if callable(self._source):
            try:
                return self._source()
            except Exception as exc:  # whatever the source's failure, the token is not accepted
                raise _KeysUnavailable(f"the key source failed: {exc!r}") from None
        issuer = self._source.rstrip("/")
        discovery = _fetch_json(f"{issuer}/.well-known/openid-configuration")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise _KeysUnavailable(f"{issuer}'s discovery document names no jwks_uri")
        return _fetch_json(jwks_uri)


def _fetch_json(url: str) -> Mapping[str, Any]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise _KeysUnavailable(f"{url} is not an http(s) URL")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310
            raw = answer.read(MAX_FETCH_BYTES + 1)
        if len(raw) > MAX_FETCH_BYTES:
            raise _KeysUnavailable(f"GET {url}: more than {MAX_FETCH_BYTES} bytes")
        data = json.loads(raw)
    except (OSError, ValueError) as exc:  # URLError and timeouts are OSErrors
        raise _KeysUnavailable(f"GET {url}: {exc}") from None
    if not isinstance(data, dict):
        raise _KeysUnavailable(f"GET {url}: not a JSON object")
    return data


def _rsa_keys(jwks: Mapping[str, Any]) -> dict[str, tuple[Any, str | None]]:
    """The set's RSA signing keys by kid; other keys (EC, encryption, malformed) are skipped,
    as they could never verify a token API Gateway accepts."""
    keys: dict[str, tuple[Any, str | None]] = {}
    for jwk in jwks.get("keys") or []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str):
            continue
        try:
            keys[kid] = (RSAAlgorithm.from_jwk(jwk), jwk.get("alg"))
        except (jwt.InvalidKeyError, ValueError, KeyError, TypeError):
            log.warning("skipping a malformed key %r in the issuer's key set", kid)
    return keys


# Only the signature is PyJWT's to check: the claims are checked below, with the API's clock
# and API Gateway's rules (PyJWT's would also refuse a non-string `sub`, which API Gateway takes).
_SIGNATURE_ONLY: Options = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


@dataclass
class Authorizer:
    """One of the API's JWT authorizers at work: its configuration, the issuer's keys, and the
    clock (with its leeway) the token's times are checked against."""

    config: JwtAuthorizerConfig
    keys: KeySet
    clock: Callable[[], float]
    leeway_s: float

    def verify(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The token's claims, once its signature, issuer, audience and times hold."""
        token = headers.get(self.config.header, "").strip()
        if token[:7].lower() == "bearer ":  # the token alone, or prefixed with Bearer
            token = token[7:].strip()
        if not token:
            raise Denied("the token is missing")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Denied("the token is malformed") from None
        algorithm = header.get("alg")
        if algorithm not in RSA_ALGORITHMS:
            # Nothing of the caller's token is echoed into the answer (a CR/LF in it would
            # become a header of its own).
            raise Denied("the signing method is invalid")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Denied("the token names no key (kid)")
        try:
            found = self.keys.key(kid)
        except _KeysUnavailable as exc:
            log.warning("authorizer %s: %s", self.config.name, exc)
            raise Denied("the issuer's keys could not be fetched") from None
        if found is None:
            raise Denied("the token's key (kid) is not the issuer's")
        key, key_algorithm = found
        if key_algorithm is not None and key_algorithm != algorithm:
            raise Denied("the signing method is invalid for the key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[algorithm], options=_SIGNATURE_ONLY
            )
        except jwt.InvalidSignatureError:
            raise Denied("the token's signature is invalid") from None
        except jwt.PyJWTError:
            raise Denied("the token is malformed") from None
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != self.config.issuer:
            raise Denied("the token does not have a valid issuer")
        # `client_id` counts only when `aud` is absent (Cognito access tokens carry no aud).
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(a, str) and a in self.config.audiences for a in audiences):
            raise Denied("the token does not have a valid audience")
        now = self.clock()
        expires = _number(claims.get("exp"))
        if expires is None:
            raise Denied("the token has no valid expiry (exp)")
        if now >= expires + self.leeway_s:
            raise Denied("the token has expired")
        for name, description in (
            ("nbf", "the token is not valid yet"),
            ("iat", "the token was issued in the future"),
        ):
            if name in claims:
                moment = _number(claims[name])
                if moment is None or moment > now + self.leeway_s:
                    raise Denied(description)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    """The token's scopes: `scope` (space-separated, as Cognito writes it) or `scp`."""
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def authorize_scopes(route: Route, claims: Mapping[str, Any]) -> list[str] | None:
    """`jwt.scopes` of the event: None on a route without scopes (as API Gateway gives, even
    when the token has some), else the token's scopes, which must include one of the route's."""
    if not route.authorization_scopes:
        return None
    scopes = _scopes(claims)
    if not set(scopes) & set(route.authorization_scopes):
        raise Denied(
            "the token does not have a required scope",
            status=HTTPStatus.FORBIDDEN,
            scope=" ".join(route.authorization_scopes),
        )
    return scopes


def claim_text(value: Any) -> str | None:
    """A claim as API Gateway puts it in `requestContext.authorizer.jwt.claims`: every value a
    string; numbers and booleans as JSON writes them (`"1700000000"`, `"true"`), arrays in
    brackets separated by spaces (`"[admin ops]"`, as real HTTP APIs render `cognito:groups`),
    objects as JSON text; a null claim is left out (None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        items = (v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in value)
        return "[" + " ".join(items) + "]"
    return json.dumps(value, separators=(",", ":"))
