"""One worker's view of a fleet: read each host, load each distinct config once, decide, render.

A config is loaded once per content (SHA-256 of its bytes) and file name (the build is named
for the file, as ``evaluate --config`` names it); a file seen before (the same device, inode,
size and mtime, however it is linked) is not read again. A listing inline in a JSON Lines host
is decoded once with its line and located in it. Decisions go through
:func:`policy.decide.memo.decide_memo`, so hosts with the same kernel and hardware cost the
parsing, not the policy. A host whose inputs cannot be read becomes that host's located
diagnostics, never an exception.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any, BinaryIO, Optional, Protocol

from policy.decide.cache import CachedBuild
from policy.decide.catalog import catalog
from policy.decide.memo import decide_memo
from policy.decide.records import Decision
from policy.errors import Diagnostic, LocatedInputError, PolicyError
from policy.fleet.inventory import CONFIG_NAMES, LISTING_NAME, HostEntry, Inventory
from policy.fleet.summary import Summary
from policy.ndctl.jsontext import EmbeddedText, PositionedText


class RowRenderer(Protocol):
    """How rows are written (``policy.report.fleet``): a host's decisions, or its problems."""

    def header(self) -> str: ...

    def rows(self, host: str, decisions: Sequence[Decision]) -> str: ...

    def host_error(self, host: str, diagnostics: Sequence[Diagnostic]) -> str: ...


class HostError(Exception):
    """A host's inputs could not be read (its diagnostics)."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__(diagnostics[0].message)
        self.diagnostics = tuple(diagnostics)


def _diags(err: PolicyError, code: str, path: str) -> tuple[Diagnostic, ...]:
    if isinstance(err, LocatedInputError):
        return err.diagnostics
    if err.diagnostic is not None:
        return (err.diagnostic,)
    return (Diagnostic("error", code, err.message, path),)


class HostWorker:
    """Decides hosts of one inventory; keeps its config memo across chunks."""

    def __init__(self, inventory: Inventory, renderer: RowRenderer, spool: str) -> None:
        self.inv = inventory
        self.renderer = renderer
        self.spool = spool
        self.cat = catalog()
        self.digests: dict[tuple[int, int, int, int], str] = {}
        self.builds: dict[tuple[str, str], CachedBuild] = {}
        self._file: Optional[BinaryIO] = None

    def close(self) -> None:
        """Close the inventory file (the JSON Lines form)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def chunk(self, entries: Sequence[HostEntry]) -> tuple[str, Summary]:
        """The rows of ``entries`` (in order) and their counts."""
        summary = Summary()
        return "".join(self.host(e, summary) for e in entries), summary

    def host(self, entry: HostEntry, summary: Summary) -> str:
        try:
            config_id, build, listing = self._inputs(entry)
        except HostError as err:
            summary.add_error(entry.host, err.diagnostics)
            return self.renderer.host_error(entry.host, err.diagnostics)
        from policy.ndctl.devices import to_devices

        devices = sorted(to_devices(listing), key=lambda d: str(d.name))
        decisions = [decide_memo(d, build, self.cat) for d in devices]
        summary.add_host(entry.host, config_id, build.fingerprint, decisions, listing.diagnostics)
        return self.renderer.rows(entry.host, decisions)

    # ---------------------------------------------------------------------------------- inputs

    def _inputs(self, e: HostEntry) -> tuple[str, CachedBuild, Any]:
        if e.folder is not None:
            config = next((os.path.join(e.folder, n) for n in CONFIG_NAMES
                           if os.path.exists(os.path.join(e.folder, n))), None)
            if config is None:
                raise HostError([Diagnostic("error", "fleet-no-config",
                                            f"no {', '.join(CONFIG_NAMES)} in the host folder",
                                            e.folder)])
            config_id, build = self._config(config)
            return config_id, build, self._listing_file(os.path.join(e.folder, LISTING_NAME))
        if e.error is not None:
            raise HostError([Diagnostic("error", "fleet-line", e.error, self.inv.shown, e.line)])
        line = self._text(e)
        obj = self._decode_line(line, e)
        text = obj.get("config_text")
        if isinstance(obj.get("config"), str):
            config_id, build = self._config(self._path(obj["config"]))
        elif isinstance(text, str):
            config_id, build = self._config_text(text)
        else:
            raise HostError([Diagnostic("error", "fleet-line", 'needs "config" (a path) or '
                                        '"config_text" (the config itself)', self.inv.shown,
                                        e.line)])
        if "ndctl" in obj:
            # located in the inventory itself: its line, the column in that line
            listing = self._listing_values(EmbeddedText(line, self.inv.shown, "ndctl", e.line),
                                           obj["ndctl"])
        elif isinstance(obj.get("ndctl_path"), str):
            listing = self._listing_file(self._path(obj["ndctl_path"]))
        else:
            raise HostError([Diagnostic("error", "fleet-line", 'needs "ndctl" (the listing) or '
                                        '"ndctl_path" (a file)', self.inv.shown, e.line)])
        return config_id, build, listing

    def _path(self, path: str) -> str:
        return os.path.join(self.inv.base, path)

    def _text(self, e: HostEntry) -> str:
        if self._file is None:
            self._file = open(self.inv.path, "rb")  # noqa: SIM115 - kept open for the worker
        self._file.seek(e.offset)
        raw = self._file.read(e.length)
        try:
            return raw.decode("utf-8-sig")  # as json.loads takes bytes: a BOM is not JSON
        except UnicodeDecodeError as err:
            raise HostError([Diagnostic("error", "fleet-line", "invalid UTF-8", self.inv.shown,
                                        e.line, err.start + 1)]) from err

    def _decode_line(self, text: str, e: HostEntry) -> dict[str, Any]:
        """The host's object (a key given twice is located in the line, as in a listing)."""
        from policy.ndctl.jsontext import PositionedText, decode_one

        try:
            obj, _ = decode_one(PositionedText(text, self.inv.shown, first_line=e.line),
                                len(text) - len(text.lstrip()))
        except PolicyError as err:
            raise HostError(_diags(err, "fleet-line", self.inv.shown)) from err
        if not isinstance(obj, dict):  # the index took only objects; the file changed since
            raise HostError([Diagnostic("error", "fleet-line", "not a JSON object",
                                        self.inv.shown, e.line)])
        return obj

    def _config(self, path: str) -> tuple[str, CachedBuild]:
        try:
            st = os.stat(path)  # the file a symlink names: fleets share configs by links
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            digest = self.digests.get(key)
            if digest is None:
                with open(path, "rb") as f:
                    digest = self.digests[key] = hashlib.sha256(f.read()).hexdigest()
        except OSError as err:
            raise HostError([Diagnostic("error", "fleet-config",
                                        f"cannot read the config: {err.strerror}", path)]) from err
        return self._build(digest, path)

    def _config_text(self, text: str) -> tuple[str, CachedBuild]:
        data = text.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        folder = os.path.join(self.spool, f"config-{digest}")
        path = os.path.join(folder, "config")
        if not os.path.exists(path):
            os.makedirs(folder, exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        return self._build(digest, path)

    def _build(self, digest: str, path: str) -> tuple[str, CachedBuild]:
        key = (digest, os.path.basename(path))
        got = self.builds.get(key)
        if got is None:
            from policy.kconfig.sources import load_config

            try:
                got = self.builds[key] = CachedBuild(load_config(path).build)
            except PolicyError as err:
                raise HostError(_diags(err, "fleet-config", path)) from err
        return digest[:12], got

    def _listing_file(self, path: str) -> Any:
        from policy.ndctl.listing import read_listing

        try:
            return read_listing(path, locate_warnings=False)  # the summary counts them
        except PolicyError as err:
            raise HostError(_diags(err, "fleet-ndctl", path)) from err

    def _listing_values(self, doc: PositionedText, value: Any) -> Any:
        from policy.ndctl.jsontext import skeleton
        from policy.ndctl.listing import read_values

        doc.locate_warnings = False  # the summary counts them
        try:
            skeleton(doc, [value])
            return read_values(doc, [value])
        except PolicyError as err:
            raise HostError(_diags(err, "fleet-ndctl", doc.path)) from err
