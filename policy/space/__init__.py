"""Stage 6, the configuration space: every configuration of the tree at once (explore, solve).

Contract: ``explore.explore`` and ``explore.solve`` over the tree compiled to steps
(``encode``, ``encode_source``), by enumeration (``enumerate``, ``listed``) or over BDDs
(``bdd``, ``symbolic``, ``walk``, ``symbolic_eval``, ``solve_bdd``); each device's decision comes
from ``policy.decide``. Imports the foundation, ``policy.kconfig`` and ``policy.decide``.
"""
