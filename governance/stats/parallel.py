"""Work spread over the machine's cores with threads.

NumPy's random draws, sorts and partitions and Arrow's kernels release the GIL while they work, so threads run
them side by side. Nothing computed here depends on how many cores there are: the random draws are cut into a
fixed number of parts, each with its own generator seeded from the caller's key, and the parts are joined in
order.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

__all__ = ["GroupSizes", "generator", "group_sizes", "map_parallel", "multinomials", "parts"]

T = TypeVar("T")

_DRAW_PARTS = 2  # parts of every bootstrap draw: fixed, so the numbers are the same on any machine
_here = threading.local()  # in_pool: this thread is running work handed to the pool
_pool: ThreadPoolExecutor | None = None
_helpers = max(1, (os.cpu_count() or 1) - 1)  # the pool's threads: the calling thread is the last core's worker


def _forget_pool() -> None:
    """A forked child (a Celery or gunicorn worker) has none of its parent's threads: it makes its own pool."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


def map_parallel(fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    """``fn`` over ``items`` on every core, results in order. The calling thread works too: it and the pool's
    threads each take the next item not yet taken until none is left, so no thread waits while there is work
    and the caller never sleeps on a hand-over it could have done itself. A single item, or a call made from
    a thread already doing such work (which would wait on itself), is done in the calling thread. The first
    error stops the taking of new items and is raised once every thread has finished its current one."""
    global _pool
    if len(items) < 2 or getattr(_here, "in_pool", False):
        return [fn(item) for item in items]
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_helpers, thread_name_prefix="gatehouse-stats")
    results: list[Any] = [None] * len(items)
    taken = itertools.count()  # next() on a count is atomic: each index is handed out once
    failed = threading.Event()

    def work() -> None:
        _here.in_pool = True
        try:
            while not failed.is_set() and (i := next(taken)) < len(items):
                results[i] = fn(items[i])
        except BaseException:
            failed.set()
            raise
        finally:
            _here.in_pool = False

    helpers = [_pool.submit(work) for _ in range(min(_helpers, len(items) - 1))]
    error: BaseException | None = None
    try:
        work()
    except BaseException as e:  # raised below, once the helpers are done with their items
        error = e
    for helper in helpers:
        if helper.cancel():
            continue  # never started (the pool was busy with other callers' work): the items are done already
        failure = helper.exception()  # waits for the helper, whether or not an error is already in hand
        error = error or failure
    if error is not None:
        raise error
    return results


def parts(draws: int) -> list[slice]:
    """The fixed parts that ``draws`` bootstrap draws are cut into (the same on any machine)."""
    size, longer = divmod(draws, _DRAW_PARTS)  # the first ``longer`` parts one draw longer
    starts = [i * size + min(i, longer) for i in range(_DRAW_PARTS + 1)]
    return [slice(start, stop) for start, stop in zip(starts, starts[1:], strict=False)]


def generator(key: Sequence[int], part: int) -> np.random.Generator:
    """The generator of one part of the draws given ``key``."""
    return np.random.default_rng([*key, part])


def multinomials(jobs: Sequence[tuple[Sequence[int], np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """For each job ``(key, n, p)``: one multinomial draw per entry of ``n`` (shape ``(B,)``) over the
    probabilities ``p`` (shape ``(cells,)``), as a ``(B, cells)`` array.

    Each job is drawn in the ``parts`` of its ``B`` draws, part ``i`` from ``generator(key, i)``, all parts of
    all jobs at once on every core. Give every job a key of its own."""
    tasks = [(key, part, n[rows], p) for key, n, p in jobs for part, rows in enumerate(parts(n.shape[0]))]

    def draw(task: tuple[Sequence[int], int, np.ndarray, np.ndarray]) -> np.ndarray:
        key, part, n, p = task
        out: np.ndarray = generator(key, part).multinomial(n, p)
        return out

    drawn = map_parallel(draw, tasks)
    return [np.concatenate(drawn[i : i + _DRAW_PARTS]) for i in range(0, len(drawn), _DRAW_PARTS)]


class GroupSizes:
    """The first step of a multinomial resample of cells ``n[group, ...]`` drawn in two steps: each of ``draws``
    resamples' group sizes (``drawn``, ``(draws, groups)``, under ``key``), and each group's shares of its own
    cells (``within``, ``(groups, cells)``), from which the second step draws the group's cells given its size.
    The two steps together are exactly one multinomial over all the cells. A group with no rows is never drawn,
    but gets a valid distribution all the same.

    The sizes are drawn a part at a time (``parts``), by the first task that asks for the part, once, whichever
    thread it runs on: the second step's tasks start without waiting for all the sizes."""

    def __init__(self, key: Sequence[int], cells: np.ndarray, draws: int, dtype: type = np.int64) -> None:
        flat = cells.reshape(cells.shape[0], -1)
        sizes = flat.sum(axis=1)
        self.within = flat / np.maximum(sizes, 1)[:, None]
        self.within[sizes == 0, 0] = 1.0
        self.drawn: np.ndarray = np.empty((draws, cells.shape[0]), dtype=dtype)
        self._key, self._total, self._shares = list(key), int(sizes.sum()), sizes / sizes.sum()
        self._parts = parts(draws)
        self._locks = [threading.Lock() for _ in self._parts]
        self._done = [False] * len(self._parts)

    def part(self, i: int) -> np.ndarray:
        """The sizes of the resamples of part ``i``, ``(rows, groups)``."""
        rows = self._parts[i]
        with self._locks[i]:
            if not self._done[i]:
                n = np.full(rows.stop - rows.start, self._total)
                self.drawn[rows] = generator(self._key, i).multinomial(n, self._shares)
                self._done[i] = True
        return self.drawn[rows]


def group_sizes(key: Sequence[int], cells: np.ndarray, draws: int) -> tuple[np.ndarray, np.ndarray]:
    """``GroupSizes`` drawn whole, on every core: ``(drawn, within)``."""
    sizes = GroupSizes(key, cells, draws)
    map_parallel(sizes.part, range(_DRAW_PARTS))
    return sizes.drawn, sizes.within
