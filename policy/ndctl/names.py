"""The grammar of kernel object names in an ``ndctl list`` listing, checked where they are read.

A listing is input: a name such as ``"region0; rm -rf /"`` or ``"namespace٠.٠"`` (Arabic-Indic
digits) is refused with its location before it can reach a plan, a report or a shell. The names
are the kernel's (``drivers/nvdimm/*.c`` ``dev_set_name``: ``region%d``, ``namespace%d.%d``,
``btt%d.%d``, ``pfn%d.%d``, ``dax%d.%d``; ``drivers/nvdimm/pmem.c``/``btt.c`` disks ``pmem%d``,
``pmem%d.%d`` and their ``s`` sector suffix), digits ASCII only.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional

_N = "[0-9]+"
GRAMMAR: dict[str, tuple[re.Pattern[str], str]] = {
    "region": (re.compile(f"region{_N}\\Z"), "regionN"),
    "namespace": (re.compile(f"namespace{_N}\\.{_N}\\Z"), "namespaceX.Y"),
    "chardev": (re.compile(f"dax{_N}\\.{_N}\\Z"), "daxX.Y"),
    "blockdev": (re.compile(f"pmem{_N}(\\.{_N})?s?\\Z"), "pmemX, pmemX.Y or pmemXs"),
    "btt_seed": (re.compile(f"btt{_N}\\.{_N}\\Z"), "bttX.Y"),
    "pfn_seed": (re.compile(f"pfn{_N}\\.{_N}\\Z"), "pfnX.Y"),
    "dax_seed": (re.compile(f"dax{_N}\\.{_N}\\Z"), "daxX.Y"),
}
SHOWN = 60  # characters of a bad name echoed in a message


def shown(value: str, limit: int = SHOWN) -> str:
    """``value`` quoted for a message, cut with a visible ellipsis past ``limit`` characters."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def name_problem(kind: str, value: Any) -> Optional[str]:
    """Why ``value`` is not a valid name of ``kind`` (a key of :data:`GRAMMAR`), or None."""
    pattern, form = GRAMMAR[kind]
    if not isinstance(value, str):
        return f"{kind} must be a string of the form {form}, not a {type(value).__name__}"
    if pattern.match(value):
        return None
    return f"{kind} {shown(value)} is not a kernel name of the form {form} (ASCII digits)"


def field_problems(
    obj: Mapping[str, Any], kinds: Mapping[str, str]
) -> list[tuple[str, str]]:
    """``(key, message)`` for every present field of ``obj`` named in ``kinds`` (key -> kind)
    whose value breaks its grammar."""
    out = []
    for key, kind in kinds.items():
        if key in obj and obj[key] is not None:
            problem = name_problem(kind, obj[key])
            if problem:
                out.append((key, problem.replace(kind, key, 1) if key != kind else problem))
    return out
