"""The Hostwinds Cloud API over httpx: form posts with `action` and the `API` key field.

Reads (and idempotent writes: terminate, set_rdns, boot, shutdown) are retried with backoff;
add_instance never is: a lost answer becomes CreateOutcomeUnknown, which only a lookup by the
instance's unique name resolves. Nothing here logs a response body or the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from ipaddress import IPv4Address
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from inboxfleet.hostwinds.errors import (
    CreateOutcomeUnknown,
    HostwindsProtocolError,
    HostwindsUnavailable,
    UnknownLocation,
)
from inboxfleet.hostwinds.models import Image, Instance, Location, Plan
from inboxfleet.hostwinds.responses import decode
from inboxfleet.observability import logger
from inboxfleet.retry import Backoff, call_with_retries

M = TypeVar("M", bound=BaseModel)
Params = dict[str, str | list[str]]

DEFAULT_URL = "https://clients.hostwinds.com/cloud/api.php"
PAGE_SIZE = 1000
MAX_PAGES = 500


class HostwindsClient:
    def __init__(
        self,
        api_key: Callable[[], str],
        *,
        url: str = DEFAULT_URL,
        timeout_s: float = 15.0,
        backoff: Backoff = Backoff(),  # noqa: B008 - frozen dataclass, safe as a default
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # The key is fetched per call through a (cached) provider, so a rotated secret is
        # picked up without a cold start.
        self._api_key = api_key
        self._url = url
        self._backoff = backoff
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            transport=transport,
            headers={"User-Agent": "inboxfleet"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HostwindsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- instances ------------------------------------------------------------------------

    def get_instance(self, serviceid: int) -> Instance:
        return _parse(Instance, self._read("get_instance", {"serviceid": str(serviceid)}))

    def iter_instances(self, page_size: int = PAGE_SIZE) -> Iterator[Instance]:
        """Every instance on the account, page by page; a short page is the last one.

        Paging is an assumption (see tests/contracts/hostwinds): an API that ignored `page`
        would repeat itself forever, so a page that is too long, repeats instances already
        seen, or runs past MAX_PAGES ends the walk with a protocol error instead."""
        seen: set[int] = set()
        for page in range(1, MAX_PAGES + 1):
            batch = _parse_list(
                Instance,
                self._read("get_instances", {"page": str(page), "limit": str(page_size)}),
            )
            ids = {i.serviceid for i in batch}
            if len(batch) > page_size or ids & seen:
                raise HostwindsProtocolError("get_instances does not page as expected")
            seen |= ids
            yield from batch
            if len(batch) < page_size:
                return
        raise HostwindsProtocolError(f"more than {MAX_PAGES} pages of instances")

    def find_instances_by_name(self, name: str) -> list[Instance]:
        return [i for i in self.iter_instances() if i.srvrname == name]

    def add_instance(
        self,
        *,
        name: str,
        location_id: int,
        template: str,
        rid: int,
        ssh_key_names: Sequence[str],
        billing_cycle: str = "monthly",
    ) -> None:
        """Order one instance. Hostwinds answers without its serviceid: find it by `name`."""
        params: Params = {
            "srvrname": name,
            "location_id": str(location_id),
            "template": template,
            "rid": str(rid),
            "qty": "1",
            "billingcycle": billing_cycle,
            "keys[]": list(ssh_key_names),
        }
        self._call("add_instance", params, may_have_run=True)

    def terminate(self, serviceid: int) -> None:
        self._read("terminate", {"serviceid": str(serviceid)})

    def set_rdns(self, serviceid: int, ip: IPv4Address, hostname: str) -> None:
        self._read("set_rdns", {"serviceid": str(serviceid), "ip": str(ip), "rdns": hostname})

    # -- catalogue ------------------------------------------------------------------------

    def get_locations(self) -> list[Location]:
        return _parse_list(Location, self._read("get_locations", {}))

    def location_id(self, slug: str) -> int:
        locations = self.get_locations()
        for location in locations:
            if location.slug == slug:
                return location.id
        known = ", ".join(sorted(loc.slug for loc in locations))
        raise UnknownLocation(f"no Hostwinds location {slug!r} (known: {known})")

    def get_public_images(self) -> list[Image]:
        return _parse_list(Image, self._read("get_public_images", {}))

    def get_price_list(self) -> list[Plan]:
        return _parse_list(Plan, self._read("get_price_list", {}))

    # -- transport ------------------------------------------------------------------------

    def _read(self, action: str, params: Params) -> Any:
        """A call that is safe to repeat: retried on transient failures."""
        return call_with_retries(
            lambda: self._call(action, params),
            retry_on=(HostwindsUnavailable,),
            backoff=self._backoff,
            sleep=self._sleep,
        )

    def _call(self, action: str, params: Params, *, may_have_run: bool = False) -> Any:
        form: Params = {"action": action, "API": self._api_key(), **params}
        started = time.perf_counter()
        try:
            response = self._http.post(self._url, data=form)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Never reached Hostwinds: nothing happened, whatever the action.
            raise HostwindsUnavailable(f"{action}: cannot connect ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            if may_have_run:
                raise CreateOutcomeUnknown(
                    f"{action}: sent, but no answer ({type(exc).__name__}); look the name up"
                ) from None
            raise HostwindsUnavailable(f"{action}: no answer ({type(exc).__name__})") from None
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        logger.debug(
            "hostwinds call",
            extra={"action": action, "http": response.status_code, "ms": elapsed_ms},
        )
        try:
            return decode(action, response.status_code, response.content)
        except HostwindsUnavailable as exc:
            if may_have_run:
                # A gateway error or a damaged body says nothing about whether it happened.
                raise CreateOutcomeUnknown(f"{exc}; look the name up") from None
            raise


# Validation errors are counted, never shown: their inputs would be payload fields (passwords).
def _parse(model: type[M], payload: Any) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise HostwindsProtocolError(
            f"unexpected {model.__name__} shape ({exc.error_count()} problems)"
        ) from None


@cache
def _list_adapter(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _parse_list(model: type[M], payload: Any) -> list[M]:
    try:
        return _list_adapter(model).validate_python(payload)
    except ValidationError as exc:
        raise HostwindsProtocolError(
            f"unexpected list of {model.__name__} ({exc.error_count()} problems)"
        ) from None
