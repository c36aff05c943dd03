"""A configuration read back from the BDDs as a witness: replayed, shortened, made a record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from policy.space import encode
from policy.space.enumerate import Configuration, Path, replay_path, replay_step
from policy.space.walk import Levels


def witness_configuration(
    walk: Any, target: Any, ident: int, levels: Optional[Levels] = None
) -> Configuration:
    """A configuration of ``target`` (a set of ``walk``, a :class:`policy.space.symbolic.Walk`) with
    its witness: the fewest enabled options when ``levels`` (:meth:`Walk.levels` holding the
    target) are given, read back from the BDDs, replayed and shortened."""
    on, decisions, _ = walk.witness(target, fewest=levels is not None, levels=levels)
    kept, options = _shorten(walk.model, decisions)
    bits = sum(1 << i for i, name in enumerate(walk.projection) if on[name])
    chain: Any = None
    for dec in kept:
        chain = (dec, chain)
    return Configuration(ident, bits, options, walk.projection, chain)


def _shorten(
    model: encode.Model, decisions: Sequence[tuple[str, str]]
) -> tuple[list[tuple[str, str]], int]:
    """``decisions`` less every line that can go without changing the configuration or adding
    enabled options (each is dropped in turn, last first, and stays dropped when the replay
    gives the same projection); with the enabled user options of the result.

    A line only matters from the step that defines its symbol on, so each trial replays from
    there, starting from the kept assignment's own state at that step, and stops as soon as its
    outcome is known (:class:`_Trials`)."""
    trials = _Trials(model)
    kept = list(decisions)
    path = replay_path(model, dict(kept), [((), 0)])
    if path is None:
        raise RuntimeError("internal error: a witness read from the BDD does not replay")
    for dec in reversed(list(decisions)):
        trial = [d for d in kept if d != dec]
        got = trials.run(dict(trial), dec[0], path)
        if got is not None:
            kept, path = trial, got
    return kept, path[-1][1]


class _Trials:
    """Replays of a witness's lines with one line dropped, judged against the kept path (the
    state and options before each step) as they go. A trial is kept when it gives the same
    configuration with no more enabled options; that is known before the last step:

    - no, as soon as it has enabled more options than the whole kept path (options only add
      up), or a projected symbol is on where the kept path's is off or the reverse (a state
      carries each slot to the end, or only its on/off);
    - yes (no, with more options), once it is past the last step that reads the dropped line
      and its state is the kept path's before the same step: the steps are functions of the
      state and of the lines they read, so the rest is the kept path, its options shifted.
    """

    def __init__(self, model: encode.Model) -> None:
        self.model = model
        self.first: dict[str, int] = {}  # the first step defining a symbol
        self.last: dict[str, int] = {}  # the last step defining a symbol or reading its line
        proj = set(model.projection)
        # after each step: the places of the projected slots it defines (a slot's on/off is
        # then carried to the end, so a trial differs from the kept path there or nowhere)
        self.shown: list[tuple[int, ...]] = []
        for i, cs in enumerate(model.steps):
            mine = set(cs.step.defines) & proj
            self.shown.append(tuple(k for k, slot in enumerate(cs.layout_out) if slot in mine))
            for name in cs.step.defines:
                self.first.setdefault(name, i)
            for name in (*cs.step.defines, *cs.step.user):
                self.last[name] = i

    def run(self, want: dict[str, str], dropped: str, path: Path) -> Optional[Path]:
        """The path of ``want`` (``path``'s lines less the line of ``dropped``) when it gives
        ``path``'s configuration with no more options, else None."""
        steps = self.model.steps
        start = self.first.get(dropped, 0)
        settled = self.last.get(dropped, -1)
        out = path[: start + 1]
        state, options = out[-1]
        limit = path[-1][1]
        for i in range(start, len(steps) + 1):
            kept_state, kept_options = path[i]
            if options > limit:
                return None
            if i > settled and state == kept_state:
                if options > kept_options:
                    return None
                return out + [(st, n + options - kept_options) for st, n in path[i + 1:]]
            if i == len(steps):
                return None
            chosen = replay_step(steps[i], state, want)
            if chosen is None:
                return None
            state, options = chosen[0], options + chosen[1]
            kept_after = path[i + 1][0]
            if any((state[k] > 0) != (kept_after[k] > 0) for k in self.shown[i]):
                return None
            out.append((state, options))
        return None
