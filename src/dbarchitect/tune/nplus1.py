"""N+1 query detection on a log's statement events.

An N+1 loop shows in a session as one parent query followed by the same child statement run
again and again with a different key each time. Per session, in log order:

1. every fingerprint run at least `min_repeats` times is cut into bursts wherever two of its
   executions are more than `max_gap_ms` apart;
2. the burst's parent is the nearest statement before it that is neither the child nor one of
   its siblings (statements repeated inside the burst about as often as the child: an ORM
   loading two relations per row runs A B A B …);
3. the burst is cut again at every later execution of the parent (a loop over customers that
   loads each customer's orders makes one burst per customer), and a part counts when it has
   `min_repeats` executions with varying values (at least half of them distinct): polling
   one row is not a loop over keys.

Bursts of the same (parent, child) are reported once: `repeats` sums the child executions
of every burst in every session, `bursts` counts them, and `session`, `window_ms` and
`source` describe the largest burst (the earliest of equal ones).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from dbarchitect.errors import InputError
from dbarchitect.tune.model import LogEvent, NPlusOne
from dbarchitect.tune.workload import is_query

MIN_REPEATS = 5
MAX_GAP_MS = 1000.0


class Batcher(Protocol):
    """The engine's rewrite of a child statement into its batched forms: (`= ANY($n)`
    statement, statement reading the keys from the parent), "" where a form does not apply."""

    def __call__(
        self,
        child: str,
        parent: str,
        *,
        samples: Sequence[str] = (),
        varying: frozenset[int] = frozenset(),
    ) -> tuple[str, str]: ...


@dataclass(frozen=True, slots=True)
class _Burst:
    session: str
    parent: LogEvent
    parent_fp: str
    child_fp: str
    children: tuple[LogEvent, ...]

    @property
    def window_ms(self) -> float:
        return (self.children[-1].at - self.children[0].at) * 1000.0


def find_nplus1(
    events: Sequence[LogEvent],
    fingerprint: Callable[[str], str],
    *,
    batch: Batcher | None = None,
    min_repeats: int = MIN_REPEATS,
    max_gap_ms: float = MAX_GAP_MS,
) -> list[NPlusOne]:
    """The N+1 loops in `events`, one per (parent, child), most repeated first. `batch`
    (the engine's rewrite) fills in the batched statements; without it they are ""."""
    sessions: dict[str, list[tuple[float, int, LogEvent, str]]] = defaultdict(list)
    fps: dict[str, str] = {}
    for index, ev in enumerate(events):
        if not ev.session or not is_query(ev.text):
            continue
        if ev.text not in fps:
            try:
                fps[ev.text] = fingerprint(ev.text)
            except InputError:
                fps[ev.text] = "?" + ev.text  # unparsable: a statement of its own
        sessions[ev.session].append((ev.at, index, ev, fps[ev.text]))
    bursts: list[_Burst] = []
    for session in sorted(sessions):
        ordered = sorted(sessions[session], key=lambda item: (item[0], item[1]))
        seq = [(ev, fp) for _, _, ev, fp in ordered]
        bursts += _session_bursts(session, seq, min_repeats, max_gap_ms / 1000.0)
    grouped: dict[tuple[str, str], list[_Burst]] = defaultdict(list)
    for b in bursts:
        grouped[(b.parent_fp, b.child_fp)].append(b)
    out = [_report(found, batch) for found in grouped.values()]
    return sorted(out, key=lambda n: (-n.repeats, n.child, n.parent))


def _session_bursts(
    session: str, seq: list[tuple[LogEvent, str]], min_repeats: int, max_gap: float
) -> list[_Burst]:
    counts = Counter(fp for _, fp in seq)
    out: list[_Burst] = []
    for child_fp in sorted(fp for fp, n in counts.items() if n >= min_repeats):
        positions = [i for i, (_, fp) in enumerate(seq) if fp == child_fp]
        for run in _split_by_gap(seq, positions, max_gap):
            if len(run) < min_repeats:
                continue
            parent_at = _parent(seq, run, child_fp)
            if parent_at is None:
                continue
            parent_fp = seq[parent_at][1]
            for part, parent_i in _split_at_parent(seq, run, parent_at, parent_fp):
                first = seq[part[0]][0]
                parent_event = seq[parent_i][0]
                if first.at - parent_event.at > max_gap:
                    continue  # not right after its parent
                children = tuple(seq[i][0] for i in part)
                if len(children) >= min_repeats and _varying(children):
                    out.append(_Burst(session, parent_event, parent_fp, child_fp, children))
    return out


def _split_by_gap(
    seq: list[tuple[LogEvent, str]], positions: list[int], max_gap: float
) -> list[list[int]]:
    runs: list[list[int]] = []
    for i in positions:
        if runs and seq[i][0].at - seq[runs[-1][-1]][0].at <= max_gap:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _parent(seq: list[tuple[LogEvent, str]], run: list[int], child_fp: str) -> int | None:
    """Index of the nearest statement before the run that is neither the child nor a sibling
    repeated inside the run about as often as the child."""
    inside = Counter(fp for _, fp in seq[run[0] : run[-1] + 1])
    siblings = {fp for fp, n in inside.items() if n >= max(2, len(run) // 2)}
    for i in range(run[0] - 1, -1, -1):
        fp = seq[i][1]
        if fp != child_fp and fp not in siblings:
            return i
    return None


def _split_at_parent(
    seq: list[tuple[LogEvent, str]], run: list[int], parent_at: int, parent_fp: str
) -> list[tuple[list[int], int]]:
    """The run cut at each later execution of the parent: (children, parent index) parts."""
    parts: list[tuple[list[int], int]] = [([], parent_at)]
    cursor = run[0]
    for i in run:
        for j in range(cursor, i):
            if seq[j][1] == parent_fp:
                parts.append(([], j))
        cursor = i + 1
        parts[-1][0].append(i)
    return [p for p in parts if p[0]]


def _values(ev: LogEvent) -> tuple[str, tuple[str, ...]]:
    return (ev.text, ev.params)


def _varying(children: Sequence[LogEvent]) -> bool:
    distinct = len({_values(ev) for ev in children})
    return distinct >= max(2, len(children) // 2)


def _varying_params(children: Sequence[LogEvent]) -> frozenset[int]:
    width = max((len(ev.params) for ev in children), default=0)
    return frozenset(
        n + 1
        for n in range(width)
        if len({ev.params[n] if n < len(ev.params) else None for ev in children}) > 1
    )


def _report(bursts: list[_Burst], batch: Batcher | None) -> NPlusOne:
    main = min(bursts, key=lambda b: (-len(b.children), b.children[0].at, b.session))
    child = main.children[0]
    samples = sorted({ev.text for ev in main.children})[:3]
    any_form = joined = ""
    if batch is not None:
        any_form, joined = batch(
            child.text, main.parent.text, samples=samples, varying=_varying_params(main.children)
        )
    return NPlusOne(
        parent=main.parent_fp,
        child=main.child_fp,
        session=main.session,
        repeats=sum(len(b.children) for b in bursts),
        window_ms=round(main.window_ms, 3),
        child_text=child.text,
        batched=any_form,
        source=main.parent.source,
        bursts=len(bursts),
        joined=joined,
    )
