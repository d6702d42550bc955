"""The statistics engine spreads its work over the cores; its figures must not depend on how many there are."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from governance.stats import Predictions, fairness_report, parallel, parse_predictions


@pytest.fixture
def cores(monkeypatch):
    def use(count: int) -> None:  # the calling thread and count - 1 of the pool's
        monkeypatch.setattr(parallel, "_pool", ThreadPoolExecutor(max_workers=max(count - 1, 1)))
        monkeypatch.setattr(parallel, "_helpers", count - 1)

    return use


def predictions(rows: int = 60_000, groups: int = 6) -> Predictions:
    rng = np.random.default_rng(11)
    group = rng.integers(0, groups, rows).astype(np.int8)
    y_true = (rng.random(rows) < 0.3).astype(np.int8)
    y_pred = (rng.random(rows) < 0.3 + 0.02 * group + 0.3 * y_true).astype(np.int8)
    champion = np.where(rng.random(rows) < 0.9, y_pred, 1 - y_pred).astype(np.int8)
    score = np.clip(rng.beta(2, 5, rows) + 0.3 * y_true, 0, 1)
    names = tuple(f"g{i}" for i in range(groups))
    return Predictions(names, group, y_pred, y_true, champion, score)


def test_the_report_is_the_same_on_one_core_and_on_four(cores):
    p = predictions()
    cores(1)
    one = fairness_report(p, n_boot=2_000)
    cores(4)
    four = fairness_report(p, n_boot=2_000)
    assert one == four
    assert one["checks"][0]["ci_low"] is not None  # the intervals were computed, not left out
    assert one["champion"]["air_change"]["ci_low"] is not None
    assert one["scores"]["auc_gap"]["ci_low"] is not None


@pytest.mark.parametrize("per_block", [1, 2])
def test_the_report_is_the_same_when_groups_are_worked_through_in_blocks(monkeypatch, per_block):
    from governance.stats import fairness, scores

    p = predictions(groups=9)
    whole = fairness_report(p, n_boot=1_000)
    monkeypatch.setattr(fairness, "_BLOCK_ELEMENTS", 1_000 * 4 * per_block)  # groups a block
    monkeypatch.setattr(scores, "_BLOCK_ELEMENTS", 1_000 * 2 * 100 * 2)
    assert fairness_report(p, n_boot=1_000) == whole


def test_parsing_is_the_same_on_one_core_and_on_four(cores):
    rng = np.random.default_rng(5)
    lines = [f"g{rng.integers(0, 5)},{rng.integers(0, 2)},{rng.integers(0, 2)}" for _ in range(200_000)]
    data = ("group,y_true,y_pred\n" + "\n".join(lines) + "\n").encode()
    cores(1)
    one = parse_predictions(data)
    cores(4)
    four = parse_predictions(data)
    assert one.group_names == four.group_names
    for name in ("group", "y_true", "y_pred"):
        assert np.array_equal(getattr(one, name), getattr(four, name))


def test_work_given_from_a_pool_thread_is_done_there_rather_than_waiting_on_itself(cores):
    cores(1)
    inner = parallel.map_parallel(lambda _: parallel.map_parallel(lambda x: x * 2, [1, 2, 3]), [0, 1])
    assert inner == [[2, 4, 6], [2, 4, 6]]


def test_every_item_is_done_once_and_the_results_come_in_order(cores):
    import threading
    import time

    cores(4)
    seen: list[int] = []
    threads: set[str] = set()

    def slow_square(x: int) -> int:
        seen.append(x)
        threads.add(threading.current_thread().name)
        time.sleep(0.001)
        return x * x

    assert parallel.map_parallel(slow_square, range(200)) == [x * x for x in range(200)]
    assert sorted(seen) == list(range(200))
    assert len(threads) > 1  # the calling thread and the pool's shared the items


def test_an_error_is_raised_after_every_thread_has_stopped_working(cores):
    import threading
    import time

    class BadItem(Exception):
        pass

    cores(4)
    running, lock, done = [0], threading.Lock(), []

    def item(x: int) -> int:
        with lock:
            running[0] += 1
        try:
            time.sleep(0.002)
            if x == 5:
                raise BadItem(x)
            done.append(x)
            return x
        finally:
            with lock:
                running[0] -= 1

    with pytest.raises(BadItem) as caught:
        parallel.map_parallel(item, range(1_000))
    assert caught.value.args == (5,)  # the item's own error, raised in the caller
    assert running[0] == 0  # nothing still at work on the caller's data when the error reaches it
    assert len(done) < 100  # no new item was taken once one failed


def test_a_caller_does_not_wait_for_a_pool_busy_with_other_work(cores):
    # Another report holds the pool's only thread; this call's items are all done by the calling thread, which
    # must not then wait for its helper to get a turn.
    import threading

    cores(2)
    release = threading.Event()
    watchdog = threading.Timer(10, release.set)  # frees the pool if the call below waits on it after all
    watchdog.start()
    try:
        busy = parallel._pool.submit(release.wait)
        assert parallel.map_parallel(lambda x: x + 1, [1, 2, 3]) == [2, 3, 4]
        assert not release.is_set()  # returned while the pool was still busy
    finally:
        release.set()
        watchdog.cancel()
    busy.result()


def test_a_forked_child_makes_its_own_pool():
    import os

    parallel.map_parallel(abs, [-1, -2])  # the parent has a pool with threads
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its pool must be new, or the work would wait for threads it does not have
        try:
            ok = parallel._pool is None and parallel.map_parallel(abs, [-1, -2]) == [1, 2]
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
