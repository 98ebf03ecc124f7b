"""SPF (RFC 7208): parsing, merging ours into a customer's record, counting DNS lookups. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LOOKUPS = 10
_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
_QUALIFIED_ALL = ("-all", "~all", "?all", "+all", "all")
_STRICTNESS = {"-all": 3, "~all": 2, "?all": 1, "+all": 0, "all": 0}


class SpfError(ValueError):
    pass


@dataclass(frozen=True)
class Spf:
    terms: tuple[str, ...]  # mechanisms and modifiers, without "v=spf1" and without "all"
    all: str | None  # "-all", "~all", ... or None

    def text(self) -> str:
        return " ".join(("v=spf1", *self.terms, *((self.all,) if self.all else ())))


def is_spf(txt: str) -> bool:
    return txt.lower() == "v=spf1" or txt.lower().startswith("v=spf1 ")


def parse(txt: str) -> Spf:
    if not is_spf(txt):
        raise SpfError(f"not an SPF record: {txt[:60]!r}")
    terms: list[str] = []
    qualifier_all: str | None = None
    for term in txt.split()[1:]:
        if term.lower() in _QUALIFIED_ALL:
            if qualifier_all is not None:
                raise SpfError("SPF record with two 'all' terms")
            qualifier_all = "+all" if term.lower() == "all" else term.lower()
        elif qualifier_all is not None:
            raise SpfError(f"SPF term {term!r} after 'all' is never evaluated")
        else:
            terms.append(term)
    return Spf(tuple(terms), qualifier_all)


def lookups(spf: Spf) -> int:
    """DNS-querying terms (RFC 7208 section 4.6.4). Nested includes are not expanded here."""
    return sum(1 for term in spf.terms if _term_name(term) in _LOOKUP_TERMS)


def _term_name(term: str) -> str:
    return re.split(r"[:/=]", term.lstrip("+-~?").lower(), maxsplit=1)[0]


def merge(ours: Spf, existing_txts: list[str]) -> Spf:
    """One SPF record holding our terms and every term the customer already had.

    The stricter `all` wins. More than one existing SPF record is an error (RFC 7208 makes
    that a permerror); so is a merged record needing more than ten lookups.
    """
    existing = [parse(t) for t in existing_txts if is_spf(t)]
    if len(existing) > 1:
        raise SpfError("the domain already has more than one SPF record; merge them first")
    terms = list(ours.terms)
    qualifier = ours.all
    if existing:
        theirs = existing[0]
        # redirect= is ignored once an `all` is present (RFC 7208 6.1): keep its meaning as
        # an include of the same policy.
        their_terms = [
            f"include:{t.split('=', 1)[1]}" if t.lower().startswith("redirect=") else t
            for t in theirs.terms
        ]
        terms += [t for t in their_terms if t.lower() not in {x.lower() for x in terms}]
        if theirs.all and _STRICTNESS[theirs.all] > _STRICTNESS.get(qualifier or "", -1):
            qualifier = theirs.all
    merged = Spf(tuple(terms), qualifier)
    if (n := lookups(merged)) > MAX_LOOKUPS:
        raise SpfError(f"the merged SPF record needs {n} DNS lookups (at most {MAX_LOOKUPS})")
    return merged
