"""A ClickHouse result in the `JSON` format turned into the Python rows the chdb store returns.

Why not Arrow: chdb builds an Arrow table several times slower than it writes JSON, and pyarrow
turns decimals and zoned timestamps into Python objects slowly too. The more rows a result has
(thousands for an hourly series split by feature), the more of a report's time that conversion
was; `JSON` parsed by orjson and converted here costs a fraction of it.

The values are those the Arrow path gives, which the rest of the code relies on: `Decimal` at
the column's scale, `UUID`, aware UTC `datetime` for `DateTime64` (and for `DateTime`, which
Arrow gave as epoch seconds), `date`, floats exactly as stored (`Float32` widened as Arrow
does), a tuple as a dict keyed by its element names ('1', '2', … when unnamed), a map keyed by
strings as a list of (key, value) pairs. A type outside that list raises `UnsupportedType`:
the caller reads that result through Arrow instead (an enum as its number, a fixed string as
bytes, a `DateTime` as epoch seconds).

The session must write JSON with `JSON_SETTINGS` (exact decimals and non-finite floats as
strings, 64-bit integers as numbers, timestamps in the column's time zone).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.store.interface import Row

JSON_SETTINGS = (
    "output_format_json_quote_64bit_integers = 0",
    "output_format_json_quote_decimals = 1",
    "output_format_decimal_trailing_zeros = 1",
    "output_format_json_quote_denormals = 1",
    "output_format_json_named_tuples_as_objects = 1",
    "date_time_output_format = 'simple'",
)

Convert = Callable[[Any], Any]


class UnsupportedType(ValueError):
    """A column type whose Arrow value this module does not reproduce."""


_PLAIN = frozenset(
    {
        "String",
        "Bool",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "Nothing",
    }
)
_UTC_ZONE = re.compile(r"^'(UTC|Etc/UTC)'$")
_FLOAT32 = struct.Struct("f")


def _args(inner: str) -> list[str]:
    """The top-level, comma-separated arguments of a type, e.g. of `Tuple(a UInt8, b String)`."""
    args, depth, start, quoted = [], 0, 0, False
    for i, char in enumerate(inner):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            args.append(inner[start:i].strip())
            start = i + 1
    args.append(inner[start:].strip())
    return args


def _memoized(convert: Convert) -> Convert:
    # Series repeat the same few timestamps over thousands of rows.
    seen: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        found = seen.get(value)
        if found is None:
            found = seen[value] = convert(value)
        return found

    return cached


def _float(value: Any) -> float:
    return float(value)  # "nan", "inf", "-inf" arrive as strings


def _float32(value: Any) -> float:
    widened: float = _FLOAT32.unpack(_FLOAT32.pack(float(value)))[0]
    return widened


def _utc_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def converter(type_name: str) -> Convert | None:
    """How to turn a JSON value of `type_name` into the Arrow path's value; None when it is the
    same already. Raises `UnsupportedType`."""
    name, _, rest = type_name.partition("(")
    inner = rest[:-1] if rest else ""
    if type_name in _PLAIN:
        return None
    if name in ("Nullable", "LowCardinality"):
        convert = converter(inner)
        if convert is None or name == "LowCardinality":
            return convert
        nullable = convert
        return lambda value: None if value is None else nullable(value)
    if name in ("Float64", "Float32"):
        return _float if name == "Float64" else _float32
    if name.startswith("Decimal"):
        return Decimal
    if name == "UUID":
        return UUID
    if name in ("Date", "Date32"):
        return _memoized(date.fromisoformat)
    # Zoned timestamps only: a column in the session's zone would print in whatever zone the
    # machine has.
    if name == "DateTime64" and len(args := _args(inner)) == 2 and _UTC_ZONE.match(args[1]):
        return _memoized(_utc_datetime)
    if name == "DateTime" and _UTC_ZONE.match(inner):
        return _memoized(_utc_datetime)
    if name == "Array":
        item = converter(inner)
        if item is None:
            return None
        return lambda values: [item(v) for v in values]
    if name == "Tuple":
        return _tuple(_args(inner))
    if name == "Map" and _args(inner)[0] in ("String", "LowCardinality(String)"):
        # JSON keys are strings: maps keyed otherwise are read through Arrow.
        value = converter(_args(inner)[1]) or _same
        return lambda pairs: [(k, value(v)) for k, v in pairs.items()]
    raise UnsupportedType(type_name)


def _same(value: Any) -> Any:
    return value


def _tuple(elements: Sequence[str]) -> Convert:
    # A named tuple arrives as an object (its names as keys), an unnamed one as an array.
    types = [_element_type(e) for e in elements]
    converts = [converter(t) or _same for t in types]
    numbers = [str(i) for i in range(1, len(elements) + 1)]

    def convert(value: Any) -> dict[str, Any]:
        pairs = value.items() if isinstance(value, dict) else zip(numbers, value, strict=True)
        return {n: c(v) for (n, v), c in zip(pairs, converts, strict=True)}

    return convert


def _element_type(element: str) -> str:
    """The type of a tuple's element, `a UInt8` or `UInt8`."""
    first, _, rest = element.partition(" ")
    # Type names start with a capital; an element's name (ClickHouse writes it first) does not.
    named = rest and "(" not in first and not first[:1].isupper()
    return rest if named else element


def rows(result: dict[str, Any]) -> list[Row]:
    """The rows of a parsed `JSON` result (`meta` and `data`), with Arrow's values."""
    found: list[Row] = result["data"]
    for column in result["meta"]:
        convert = converter(column["type"])
        if convert is None:
            continue
        name = column["name"]
        for row in found:
            row[name] = convert(row[name])
    return found
