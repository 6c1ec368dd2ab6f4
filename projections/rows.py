"""Set-based writes of dataclass rows: one array per column, ``INSERT ... SELECT FROM unnest``.

The trading read models keep their rows as frozen dataclasses whose fields are the table's
columns in order; these helpers turn a list of them into the arrays an ``unnest`` insert
takes and build that insert from the field names and the columns' SQL types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields


def names(row_type: type) -> list[str]:
    """The field names of a dataclass row type (its table's columns, in order)."""
    return [f.name for f in fields(row_type)]


def columns(rows: Sequence[object], row_type: type) -> list[list[object]]:
    """One list per field of ``row_type``: the arguments of an ``unnest`` insert."""
    return [[getattr(r, name) for r in rows] for name in names(row_type)]


def unnest_insert(table: str, row_type: type, types: str, on_conflict: str = "") -> str:
    """``INSERT INTO <table> AS t (<fields>) SELECT * FROM unnest(<one array per field>)``.

    Args:
        types: the columns' SQL types, space-separated, in field order.
        on_conflict: an ``ON CONFLICT ...`` clause (the table is aliased ``t``).

    Raises:
        ValueError: not one type per field.
    """
    cols, kinds = names(row_type), types.split()
    if len(cols) != len(kinds):
        raise ValueError(f"{table}: {len(cols)} fields but {len(kinds)} types")
    arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(kinds, start=1))
    head = f"INSERT INTO {table} AS t ({', '.join(cols)}) SELECT * FROM unnest({arrays})"
    return f"{head} {on_conflict}" if on_conflict else head


def set_all(cols: Sequence[str]) -> str:
    """``c = EXCLUDED.c, ...``: an upsert that replaces the row."""
    return ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
