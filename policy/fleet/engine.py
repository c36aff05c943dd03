"""Run a fleet on every core: chunks of hosts, in host order whatever the scheduling.

Workers are processes (``multiprocessing.Pool``); each keeps its own config and decision memos
across the chunks it gets. A worker writes a chunk's rows to a file in the spool directory and
returns only the file's name and the chunk's counts: rows are a few KiB per namespace (a million
namespaces are gigabytes), so they never travel through the pool's pipes or the main process's
memory; the main process copies each file to the output in chunk order (``sendfile`` where the
output is a file descriptor) and deletes it. At most :data:`AHEAD` chunks per worker are in
flight, so the spool holds a bounded amount whatever the speed of the output. The output is the
same for any ``--jobs``.
"""
from __future__ import annotations

import gc
import io
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from itertools import islice
from multiprocessing.pool import AsyncResult
from typing import BinaryIO, Optional

from policy.fleet.host import HostWorker, RowRenderer
from policy.fleet.inventory import Inventory
from policy.fleet.summary import Summary

MAX_CHUNK_HOSTS = 64  # a chunk's rows are one string in a worker: keep it a few MiB
AHEAD = 4  # chunks in flight per worker

_WORKER: Optional[HostWorker] = None  # the worker process's own (set by _init)


def _init(inventory: Inventory, renderer: RowRenderer, spool: str) -> None:
    global _WORKER
    _WORKER = HostWorker(inventory, renderer, spool)
    # what the worker has loaded so far (the catalog, the inventory index) lives as long as the
    # worker: keep it out of every later garbage collection
    gc.freeze()


def _run_chunk(bounds: tuple[int, int]) -> tuple[str, Summary]:
    assert _WORKER is not None
    lo, hi = bounds
    text, summary = _WORKER.chunk(_WORKER.inv.hosts[lo:hi])
    path = os.path.join(_WORKER.spool, f"rows-{lo}")
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))
    return path, summary


def chunk_bounds(hosts: int, jobs: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` index ranges: at least a few chunks per worker, at most MAX_CHUNK_HOSTS."""
    size = max(1, min(MAX_CHUNK_HOSTS, -(-hosts // (jobs * 4))))
    return [(lo, min(hosts, lo + size)) for lo in range(0, hosts, size)]


def _copy(path: str, out: BinaryIO) -> None:
    """Append the file ``path`` to ``out`` and delete it (in the kernel when it can)."""
    with open(path, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        try:
            fd = out.fileno()
        except (OSError, AttributeError, io.UnsupportedOperation):
            fd = -1
        sent = 0
        if fd >= 0:
            out.flush()
            try:
                while sent < size:
                    n = os.sendfile(fd, src.fileno(), sent, size - sent)
                    if n == 0:
                        break
                    sent += n
            except OSError:  # an output sendfile cannot write to: copy the rest
                pass
        src.seek(sent)
        while block := src.read(1 << 20):
            out.write(block)
    os.unlink(path)


def run_fleet(inventory: Inventory, renderer: RowRenderer, out: BinaryIO, jobs: int,
              spool: str) -> Summary:
    """Write every host's rows (sorted by host) to ``out``; the summary of the run."""
    total = Summary()
    header = renderer.header()
    if header:
        out.write(header.encode("utf-8"))
    bounds = chunk_bounds(len(inventory.hosts), jobs)
    if jobs <= 1 or len(bounds) <= 1:
        worker = HostWorker(inventory, renderer, spool)
        try:
            for lo, hi in bounds:
                text, part = worker.chunk(inventory.hosts[lo:hi])
                out.write(text.encode("utf-8"))
                total.merge(part)
        finally:
            worker.close()
        return total
    with multiprocessing.Pool(jobs, initializer=_init,
                              initargs=(inventory, renderer, spool)) as pool:
        todo: Iterator[tuple[int, int]] = iter(bounds)
        pending: deque[AsyncResult[tuple[str, Summary]]] = deque(
            pool.apply_async(_run_chunk, (b,)) for b in islice(todo, jobs * AHEAD))
        while pending:
            path, part = pending.popleft().get()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.apply_async(_run_chunk, (nxt,)))
            _copy(path, out)
            total.merge(part)
    return total
