"""``python -m worker`` as a process: SIGTERM, a dead child, a child that keeps failing
(each on a redis-server of the test's own)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from worker.__main__ import session_members

ROOT = Path(__file__).resolve().parents[2]


def start_worker(url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "SKULDKOLL_ENV": "test", "REDIS_URL": url}
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "worker", "-n", "1", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def children(pid: int) -> dict[str, int]:
    """The supervisor's children by role ("worker-pool", "cron")."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        pids = [int(p) for p in f.read().split()]
    found = {}
    for child in pids:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        for role in ("worker-pool", "cron"):
            if role.encode() in argv:
                found[role] = child
    return found


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def workers_registered(url: str) -> int:
    from redis import Redis
    from rq import Worker

    return len(Worker.all(connection=Redis.from_url(url)))


def test_sigterm_stops_the_worker_and_its_children_with_exit_0(own_redis):
    proc = start_worker(own_redis.url)
    try:
        wait_for(lambda: workers_registered(own_redis.url) == 1, 30, "the pool's worker")
        kids = wait_for(lambda: len(children(proc.pid)) == 2 and children(proc.pid), 10, "kids")
        assert set(kids) == {"worker-pool", "cron"}
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
        assert time.monotonic() - started < 10
        for pid in kids.values():
            assert session_members(pid) == [], "no process of a child is left"
        assert workers_registered(own_redis.url) == 0, "the worker said it stopped"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_killed_cron_is_started_again(own_redis):
    proc = start_worker(own_redis.url)
    try:
        cron = wait_for(lambda: children(proc.pid).get("cron"), 30, "rq cron")
        pool = children(proc.pid)["worker-pool"]
        os.kill(cron, signal.SIGKILL)
        again = wait_for(
            lambda: (
                children(proc.pid).get("cron") not in (None, cron) and children(proc.pid)["cron"]
            ),
            10,
            "a new rq cron",
        )
        assert again != cron
        assert children(proc.pid)["worker-pool"] == pool, "the pool ran on"
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert f"rq cron (pid {cron}) exited with -9; restarting" in proc.stderr.read()


def test_a_child_that_keeps_failing_makes_the_worker_exit_non_zero(own_redis):
    own_redis.stop()  # nothing answers at the URL: both children fail at once
    proc = start_worker(own_redis.url, "--max-failures", "2")
    try:
        assert proc.wait(timeout=30) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "failed 2 times in a row: giving up" in proc.stderr.read()
