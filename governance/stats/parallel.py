"""Work spread over the machine's cores with threads.

NumPy's random draws, sorts and partitions and Arrow's kernels release the GIL while they work, so threads run
them side by side. Nothing computed here depends on how many cores there are: the random draws are cut into a
fixed number of parts, each with its own generator seeded from the caller's key, and the parts are joined in
order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

__all__ = ["map_parallel", "multinomials"]

T = TypeVar("T")

_DRAW_PARTS = 2  # parts of every bootstrap draw: fixed, so the numbers are the same on any machine
_here = threading.local()  # in_pool: this thread is running work handed to the pool
_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    """A forked child (a Celery or gunicorn worker) has none of its parent's threads: it makes its own pool."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


def map_parallel(fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    """``fn`` over ``items`` on every core, results in order. A single item, or a call made from one of the
    pool's own threads (which would wait on itself), is done in the calling thread."""
    global _pool
    if len(items) < 2 or getattr(_here, "in_pool", False):
        return [fn(item) for item in items]
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1), thread_name_prefix="gatehouse-stats")

    def run(item: Any) -> T:
        _here.in_pool = True
        try:
            return fn(item)
        finally:
            _here.in_pool = False

    return list(_pool.map(run, items))


def multinomials(jobs: Sequence[tuple[Sequence[int], np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """For each job ``(key, n, p)``: one multinomial draw per entry of ``n`` (shape ``(B,)``) over the
    probabilities ``p`` (shape ``(cells,)``), as a ``(B, cells)`` array.

    Each job is drawn in ``_DRAW_PARTS`` slices of its ``B`` draws, slice ``i`` from a generator seeded with
    ``(*key, i)``, all slices of all jobs at once on every core. Give every job a key of its own."""
    tasks: list[tuple[list[int], np.ndarray, np.ndarray]] = []
    for key, n, p in jobs:
        for part, chunk in enumerate(np.array_split(n, _DRAW_PARTS)):
            tasks.append(([*key, part], chunk, p))

    def draw(task: tuple[list[int], np.ndarray, np.ndarray]) -> np.ndarray:
        key, n, p = task
        out: np.ndarray = np.random.default_rng(key).multinomial(n, p)
        return out

    parts = map_parallel(draw, tasks)
    return [np.concatenate(parts[i : i + _DRAW_PARTS]) for i in range(0, len(parts), _DRAW_PARTS)]
