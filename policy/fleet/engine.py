"""Run a fleet on every core: chunks of hosts, in host order whatever the scheduling.

Workers are processes (``multiprocessing.Pool``); each keeps its own config and decision memos
across the chunks it gets, and returns the chunk's rendered rows and counts. ``imap`` hands the
results back in chunk order, so the output is the same for any ``--jobs``.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Optional

from policy.fleet.host import HostWorker, RowRenderer
from policy.fleet.inventory import Inventory
from policy.fleet.summary import Summary

MAX_CHUNK_HOSTS = 64  # a chunk's rows are one string in flight: keep it a few MiB

_WORKER: Optional[HostWorker] = None  # the worker process's own (set by _init)


def _init(inventory: Inventory, renderer: RowRenderer, spool: str) -> None:
    global _WORKER
    _WORKER = HostWorker(inventory, renderer, spool)


def _run_chunk(bounds: tuple[int, int]) -> tuple[str, Summary]:
    assert _WORKER is not None
    lo, hi = bounds
    return _WORKER.chunk(_WORKER.inv.hosts[lo:hi])


def chunk_bounds(hosts: int, jobs: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` index ranges: at least a few chunks per worker, at most MAX_CHUNK_HOSTS."""
    size = max(1, min(MAX_CHUNK_HOSTS, -(-hosts // (jobs * 4))))
    return [(lo, min(hosts, lo + size)) for lo in range(0, hosts, size)]


def run_fleet(inventory: Inventory, renderer: RowRenderer, write: Callable[[str], object],
              jobs: int, spool: str) -> Summary:
    """Write every host's rows (sorted by host) through ``write``; the summary of the run."""
    total = Summary()
    header = renderer.header()
    if header:
        write(header)
    bounds = chunk_bounds(len(inventory.hosts), jobs)
    if jobs <= 1 or len(bounds) <= 1:
        worker = HostWorker(inventory, renderer, spool)
        try:
            for lo, hi in bounds:
                text, part = worker.chunk(inventory.hosts[lo:hi])
                write(text)
                total.merge(part)
        finally:
            worker.close()
        return total
    with multiprocessing.Pool(jobs, initializer=_init,
                              initargs=(inventory, renderer, spool)) as pool:
        for text, part in pool.imap(_run_chunk, bounds):
            write(text)
            total.merge(part)
    return total
