"""A fleet at once: every host's kernel config and ``ndctl list`` output, one answer for all.

:mod:`~policy.fleet.inventory` reads the inventory (a directory of host folders, or JSON Lines) into
a sorted index of hosts; :mod:`~policy.fleet.host` decides one host (configs loaded once per
content, decisions memoised by :mod:`policy.decide.memo`); :mod:`~policy.fleet.summary` counts;
:mod:`~policy.fleet.engine` runs chunks of hosts on every core, in host order.
"""
from __future__ import annotations

from policy.fleet.engine import run_fleet
from policy.fleet.inventory import HostEntry, read_inventory
from policy.fleet.summary import Summary

__all__ = ["HostEntry", "Summary", "read_inventory", "run_fleet"]
