"""Routes declared once per resource module, and a fresh Powertools `Router` of them for each
resolver (a Router holds the request it serves: resolvers never share one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import Router

F = TypeVar("F", bound=Callable[..., Any])


class Routes:
    def __init__(self) -> None:
        self._routes: list[tuple[str, str, dict[str, Any], Callable[..., Any]]] = []

    def get(self, path: str, **options: Any) -> Callable[[F], F]:
        return self._add("get", path, options)

    def post(self, path: str, **options: Any) -> Callable[[F], F]:
        return self._add("post", path, options)

    def put(self, path: str, **options: Any) -> Callable[[F], F]:
        return self._add("put", path, options)

    def delete(self, path: str, **options: Any) -> Callable[[F], F]:
        return self._add("delete", path, options)

    def _add(self, method: str, path: str, options: dict[str, Any]) -> Callable[[F], F]:
        def register(route: F) -> F:
            self._routes.append((method, path, options, route))
            return route

        return register

    def router(self) -> Router:
        from aws_lambda_powertools.event_handler.api_gateway import Router

        router = Router()  # type: ignore[no-untyped-call]
        for method, path, options, route in self._routes:
            getattr(router, method)(path, **options)(route)
        return router
