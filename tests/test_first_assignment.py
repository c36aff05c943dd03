"""``first_assignment`` is dd's ``BDD.pick`` and ``holds_under`` its ``let``: the same answers.

Witnesses are read back with them (``Walk.witness``), so a different choice among equally valid
assignments would change the witnesses ``explore`` prints; dd's own ``pick`` is the oracle, on
random functions with complement edges, constants and care variables outside the support.
"""

from __future__ import annotations

import random
from typing import Any

from policy.space.bdd import cudd
from policy.space.walk import first_assignment, holds_under

NAMES = [f"x{i}" for i in range(12)]


def _random_function(bdd: Any, rng: random.Random) -> Any:
    vs = [bdd.var(n) for n in NAMES]
    u = bdd.false
    for _ in range(rng.randint(1, 6)):
        term = bdd.true
        for v in rng.sample(vs, rng.randint(1, 5)):
            term = term & (v if rng.random() < 0.5 else ~v)
        u = (u | term) if rng.random() < 0.7 else (u & ~term)
    return ~u if rng.random() < 0.3 else u


def test_first_assignment_is_dds_pick() -> None:
    bdd = cudd.BDD(memory_estimate=1 << 24)
    bdd.declare(*NAMES)
    rng = random.Random(18)
    found = 0
    for _ in range(1500):
        u = _random_function(bdd, rng)
        care = set(rng.sample(NAMES, rng.randint(0, len(NAMES)))) | bdd.support(u)
        want = bdd.pick(u, care_vars=care)
        assert first_assignment(bdd, u, care) == want
        found += want is not None
    assert 0 < found < 1500  # both satisfiable and empty functions were tried


def test_constants() -> None:
    bdd = cudd.BDD(memory_estimate=1 << 24)
    bdd.declare("a", "b")
    assert first_assignment(bdd, bdd.false, {"a"}) is None
    assert first_assignment(bdd, bdd.true, {"a", "b"}) == bdd.pick(bdd.true, {"a", "b"})
    assert first_assignment(bdd, ~bdd.var("a"), {"a", "b"}) == {"a": False, "b": False}


def test_holds_under_is_let() -> None:
    bdd = cudd.BDD(memory_estimate=1 << 24)
    bdd.declare(*NAMES)
    rng = random.Random(181)
    for _ in range(500):
        u = _random_function(bdd, rng)
        a = {n: rng.random() < 0.5 for n in NAMES}
        assert holds_under(u, a) == (bdd.let(a, u) == bdd.true)
    assert holds_under(bdd.true, {}) and not holds_under(bdd.false, {})
