"""Upcasters: old event versions are rewritten, as plain dicts, into the current schema.

A published tag is never edited.  When ``market.trade.v1`` becomes ``v2``, register a function
taking the v1 dict to the v2 dict; decoding applies the chain until it reaches a known tag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Raw = dict[str, Any]
UpcastFn = Callable[[Raw], Raw]


class Upcasters:
    """A registry of ``old tag -> (function, new tag)`` steps."""

    def __init__(self) -> None:
        self._steps: dict[str, tuple[UpcastFn, str]] = {}

    def register(self, old_tag: str, new_tag: str) -> Callable[[UpcastFn], UpcastFn]:
        def deco(fn: UpcastFn) -> UpcastFn:
            self._steps[old_tag] = (fn, new_tag)
            return fn

        return deco

    def knows(self, tag: object) -> bool:
        return isinstance(tag, str) and tag in self._steps

    def upcast(self, raw: Raw) -> Raw:
        """Apply steps until the tag has no further step; each step must set the new tag."""
        seen = set()
        while (tag := raw.get("type")) in self._steps:
            if tag in seen:
                raise ValueError(f"upcaster cycle at {tag}")
            seen.add(tag)
            fn, new_tag = self._steps[tag]
            raw = dict(fn(dict(raw)))
            raw["type"] = new_tag
        return raw


def default_upcasters() -> Upcasters:
    """The upcasters for every retired schema in the catalogue (none retired yet)."""
    return Upcasters()
