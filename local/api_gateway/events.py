"""The local HTTP API's payload format 2.0 events and responses: `Request` as received, the
event built from it (`v2_event`: rawPath percent-decoded, cookies split out of the headers,
repeated headers and query keys joined with commas, bodies base64-encoded unless their content
type is text), and `response_from_result`, API Gateway's mapping of a function's answer to the
`Reply` sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

# Content types whose bodies reach the function as text; every other body (none given, forms,
# octet-stream, images ...) is base64-encoded, as observed on real HTTP APIs.
TEXT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
_HOP_BY_HOP = frozenset({"connection", "content-length", "keep-alive", "transfer-encoding"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ---- the event -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One HTTP request as received (the target as sent: path and query still encoded)."""

    method: str
    target: str
    protocol: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    server_port: int


@dataclass
class Reply:
    """An HTTP answer as sent: API Gateway's own, or a function's as `response_from_result`
    maps it."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    close: bool = False  # the connection cannot be reused (an unread or malformed body)


def joined_headers(request: Request) -> tuple[dict[str, str], list[str]]:
    """(headers, cookies) as a 2.0 event has them: names lower-cased, a repeated header's values
    joined with commas, and the Cookie header taken out and split into `cookies`."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, value in request.headers:
        name = raw_name.lower()
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        elif name in headers:
            headers[name] = f"{headers[name]},{value}"
        else:
            headers[name] = value
    # What API Gateway adds in front of the integration. x-forwarded-for ends with the address
    # the request really came from; the context's sourceIp is that address, never a header.
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = (
        f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    )
    headers["x-forwarded-port"] = str(request.server_port)
    headers["x-forwarded-proto"] = "http"
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")
    return headers, cookies


def v2_event(
    request: Request,
    *,
    route_key: str,
    path: str,
    raw_query: str,
    path_parameters: dict[str, str],
    headers: dict[str, str],
    cookies: list[str],
    authorizer: dict[str, Any] | None,
    request_id: str,
    now: float,
    api_id: str,
    account_id: str,
    domain_name: str,
) -> dict[str, Any]:
    """The payload format 2.0 event of a routed, authorized `request`: `path` percent-decoded,
    `headers` and `cookies` as `joined_headers` gives them, `authorizer` the context's
    `authorizer` (None on a route without one), `now` the request's time."""
    context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": api_id,
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": _request_time(now),
        "timeEpoch": int(now * 1000),
    }
    if authorizer is not None:  # only on routes with an authorizer, as API Gateway
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _query_parameters(raw_query)
    if query:  # absent, not empty, when there are none
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["requestContext"] = context
    event.update(_body_fields(request.body, headers))
    return event


def _query_parameters(raw_query: str) -> dict[str, str]:
    """Decoded keys to decoded values, a repeated key's values joined with commas."""
    joined: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _is_text(headers: Mapping[str, str]) -> bool:
    if headers.get("content-encoding", "identity").strip().lower() != "identity":
        return False  # compressed bytes are not text whatever the type
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_TYPES


def _body_fields(body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """`body` and `isBase64Encoded`. A text body goes as it came (the Stripe webhook verifies
    its signature over exactly these bytes); a text type whose bytes are not UTF-8 goes
    base64-encoded rather than mangled. No body: no `body` key, as API Gateway sends it."""
    if not body:
        return {"isBase64Encoded": False}
    if _is_text(headers):
        try:
            return {"body": body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


def _request_time(now: float) -> str:
    """`12/Mar/2020:19:03:58 +0000` (month names in English whatever the locale)."""
    t = time.gmtime(now)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


# ---- the response --------------------------------------------------------------------------


def response_from_result(result: Any) -> Reply:
    """API Gateway's reading of a payload 2.0 function's answer: an object with `statusCode`
    is a response (`headers`, `cookies` as Set-Cookie headers, `body`, base64-decoded when
    `isBase64Encoded`; `multiValueHeaders` is 1.0's and ignored); any other JSON value is the
    body of a 200 application/json response. ValueError: malformed (API Gateway answers 500)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        body = json.dumps(result).encode()
        return Reply(HTTPStatus.OK, [("content-type", "application/json")], body)
    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in _HOP_BY_HOP:
            headers.append((_header_text(name), _header_text(value)))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise ValueError("cookies must be a list")
    headers.extend(("set-cookie", _header_text(cookie)) for cookie in cookies)
    return Reply(status, headers, _response_body(result))


def _response_body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise ValueError(f"body must be a string, got {type(body).__name__}")
    if result.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("isBase64Encoded, but the body is not base64") from None
    return body.encode("utf-8")


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        raise ValueError(f"header value {value!r} is not a string")
    if "\r" in text or "\n" in text:
        raise ValueError("a header holds a line break")
    return text
