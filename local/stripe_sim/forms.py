"""Stripe's v1 request encoding: form fields in bracket notation, decoded into nested values.

`metadata[tenant_id]=t` -> {"metadata": {"tenant_id": "t"}}; `line_items[0][price]=p` ->
{"line_items": [{"price": p}]}; `lookup_keys[]=a&lookup_keys[]=b` -> {"lookup_keys": ["a", "b"]}
(stripe-python itself sends indexed lists: `lookup_keys[0]=a`). A field given twice keeps the
last value, as Stripe does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

Params = dict[str, Any]

_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class MalformedParams(ValueError):
    """A field name that clashes with another (`a=1&a[b]=2`); `param` is the top-level name."""

    def __init__(self, param: str) -> None:
        super().__init__(param)
        self.param = param


def _segments(key: str) -> list[str]:
    match = _KEY.fullmatch(key)
    if match is None:
        return [key]
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def parse_params(text: str) -> Params:
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        path = _segments(key)
        node = root
        for depth, segment in enumerate(path):
            name = str(len(node)) if segment == "" else segment  # `a[]`: the next index
            last = depth == len(path) - 1
            if last:
                if isinstance(node.get(name), dict):
                    raise MalformedParams(path[0])
                node[name] = value
            else:
                child = node.setdefault(name, {})
                if not isinstance(child, dict):
                    raise MalformedParams(path[0])
                node = child
    listed = _listify(root)
    assert isinstance(listed, dict)
    return listed


def _listify(value: Any) -> Any:
    """Maps whose keys are all indexes become lists, in index order."""
    if not isinstance(value, dict):
        return value
    items = {key: _listify(child) for key, child in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items
