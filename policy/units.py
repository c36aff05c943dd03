"""Byte sizes as profiles write them: ``400GiB``, ``16MiB``, ``8G`` (ndctl), ``8GB`` (decimal).

The convention, chosen once for every pmempolicy input:

* a plain integer (or a string of digits) is a number of **bytes**;
* ``K``/``M``/``G``/``T`` and ``KiB``/``MiB``/``GiB``/``TiB`` are **binary** (2^10 ...) — ndctl's
  ``create-namespace -s 8G`` means 8 GiB, and operators copy sizes from ndctl;
* ``KB``/``MB``/``GB``/``TB`` are **decimal** (10^3 ...), the honest reading of "8 GB" on a
  datasheet. Profile validation warns about them (``decimal-unit``), because a decimal size is
  almost never a multiple of the 2 MiB a namespace needs.

Suffixes are case-sensitive (``Gb`` would be gigabits); ``B`` alone is bytes.
"""
from __future__ import annotations

import math
import re
from typing import Union

from policy.errors import clip

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40

_BINARY = {"": 1, "B": 1, "K": KiB, "M": MiB, "G": GiB, "T": TiB}
_DECIMAL = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}

# digits with an optional fraction, then an optional unit; blanks around and between are allowed
_SIZE_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:([KMGT])(iB|B)?|(B))?\s*\Z")
_PERCENT_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*\Z")

SizeValue = Union[int, float, str]

MAX_BYTES = 1 << 64  # the most a 64-bit address space holds; every size is at most this
_MAX_DIGITS = 40  # more digits than any size up to MAX_BYTES needs (with a fraction)


class SizeError(ValueError):
    """A size or percentage that does not parse; the message says why."""


def is_decimal_unit(text: str) -> bool:
    """True for sizes written with a decimal unit (``8GB``), which validation warns about."""
    m = _SIZE_RE.match(text) if isinstance(text, str) else None
    return bool(m and m.group(3) == "B")


def parse_size(value: SizeValue) -> int:
    """Bytes for ``value`` (see :func:`_parse_size`), at most :data:`MAX_BYTES`."""
    n = _parse_size(value)
    if n > MAX_BYTES:
        raise SizeError(f"size {clip(value)} is more than 2^64 bytes, more than a 64-bit "
                        "address space holds")
    return n


def _parse_size(value: SizeValue) -> int:
    """Bytes for ``value``: an integer of bytes or a string such as ``400GiB``, ``8G``, ``8GB``.

    Raises :class:`SizeError` for anything else, for negative values and for fractions that do
    not come to a whole number of bytes (``1.5GiB`` is fine, ``0.5B`` is not).
    """
    if isinstance(value, bool):
        raise SizeError(f"expected a size, got a boolean ({str(value).lower()})")
    if isinstance(value, int):
        if value < 0:
            raise SizeError(f"size {value} is negative")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0 or not value.is_integer():
            raise SizeError(f"size {value!r} is not a whole number of bytes")
        if value > MAX_BYTES:
            return MAX_BYTES + 1
        return int(value)
    if not isinstance(value, str):
        raise SizeError(f"expected a size, got {type(value).__name__}")
    m = _SIZE_RE.match(value)
    if m is None:
        raise SizeError(
            f"{clip(value)} is not a size: write bytes (4096) or a number with a unit "
            "(KiB, MiB, GiB, TiB; K/M/G/T are binary like ndctl's, KB/MB/GB/TB decimal)"
        )
    number, letter, suffix, _bare_b = m.groups()
    if len(number) > _MAX_DIGITS:  # int() of thousands of digits is slow, past 4,300 an error
        raise SizeError(f"size {clip(value)} has more than {_MAX_DIGITS} digits; a size is at "
                        "most 2^64 bytes, what a 64-bit address space holds")
    if letter is None:
        factor = 1
    elif suffix == "B":
        factor = _DECIMAL[letter]
    else:
        factor = _BINARY[letter]
    if "." in number:
        whole, frac = number.split(".")
        scaled: int = int(whole) * factor + int(frac) * factor // 10 ** len(frac)
        if int(frac) * factor % 10 ** len(frac):
            raise SizeError(f"{clip(value)} is not a whole number of bytes")
        return scaled
    return int(number) * factor


def parse_percent(value: str) -> float | None:
    """The percentage in ``"2%"`` or ``"0.5 %"``, or None when ``value`` is not a percentage."""
    if not isinstance(value, str):
        return None
    m = _PERCENT_RE.match(value)
    return float(m.group(1)) if m else None


def parse_budget(value: SizeValue, of: int) -> int:
    """Bytes for a budget: a size, or a percentage of ``of`` bytes (rounded down).

    Raises :class:`SizeError` for a percentage above 100 or a value that is neither.
    """
    pct = parse_percent(value) if isinstance(value, str) else None
    if pct is not None:
        if pct > 100:
            raise SizeError(f"{clip(value)} is more than 100% of the device")
        return int(of * pct / 100)
    try:
        return parse_size(value)
    except SizeError:
        raise SizeError(
            f"{clip(value)} is not a budget: write a size (64MiB) or a percentage of the "
            "device (1%)"
        ) from None


def format_size(n: int) -> str:
    """``n`` bytes for a person to read, in ndctl's binary units: ``6.25 GiB``, ``394 GiB``.

    The one size formatter of every reporter and message (JSON keeps bytes). The largest of
    B/KiB/MiB/GiB/TiB/PiB/EiB the size reaches, with three significant digits at most (two
    decimals below 10, one below 100, none above), trailing zeros dropped: ``2 MiB``,
    ``15.8 GiB``, ``372.53 GiB`` is ``373 GiB``. Exact sizes for commands: :func:`ndctl_size`.
    """
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, name in _DISPLAY_UNITS:
        if n >= unit:
            value = n / unit
            digits = 2 if value < 10 else 1 if value < 100 else 0
            text = f"{value:.{digits}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{sign}{text} {name}"
    return f"{sign}{n} B"


_DISPLAY_UNITS = (
    (1 << 60, "EiB"), (1 << 50, "PiB"), (TiB, "TiB"), (GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB"),
)


def ndctl_size(n: int) -> str:
    """``n`` bytes as ndctl's options spell an exact size: ``2M``, ``1G``, ``756G``, ``4K``.

    The largest of T/G/M/K (binary, as ``ndctl create-namespace -s/-a`` reads them) that divides
    ``n``; plain bytes otherwise. For command arguments and candidate labels (``align=2M``);
    everything a person reads as an amount uses :func:`format_size`.
    """
    for unit, letter in ((TiB, "T"), (GiB, "G"), (MiB, "M"), (KiB, "K")):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{letter}"
    return str(n)
