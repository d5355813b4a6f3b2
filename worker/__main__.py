"""``python -m worker``: a supervisor of two processes on REDIS_URL.

* ``rq worker-pool`` (``-n`` workers of ``worker.rq_worker.Worker``, with RQ's scheduler
  for retries), and
* ``rq cron worker.cron_config`` (the periodic jobs; run exactly one per installation).

Each child runs in a session of its own (so all its processes can be found). When one
exits (Redis went away, it was killed), its leftover processes are killed and it is
started again after a backoff
(1 s, doubling, at most ``MAX_BACKOFF``); a child that ran ``STABLE_AFTER`` seconds
starts its count afresh. A child that fails ``--max-failures`` times in a row makes the
supervisor stop the other and exit 3, so that systemd, Kubernetes or Docker notices.

SIGTERM or SIGINT: forwarded to the children (RQ finishes the running jobs: a warm
shutdown); whatever still runs after ``--grace`` seconds is killed (a killed job runs
again, see ``worker.rq_worker``). Exit codes: 0 stopped by a signal, 2 no REDIS_URL,
3 a child kept failing.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("worker.supervisor")

MAX_BACKOFF = 30.0  # seconds
STABLE_AFTER = 60.0  # seconds a child must run before its failures are forgotten
POLL = 0.2  # seconds between checks of the children
EXIT_GAVE_UP = 3


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    start_at: float = 0.0  # monotonic time of the next start
    restarts: int = field(default=0)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, start_new_session=True)  # noqa: S603 - our rq
        self.started_at = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.proc.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def session_members(sid: int) -> list[int]:
    """The processes of session ``sid``: a child, its workers and their work horses
    (which RQ puts in process groups of their own, and which outlive a killed parent).
    Linux: read from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            members.append(int(entry))
    return members


def kill_session(sid: int, sig: int = signal.SIGKILL) -> None:
    for pid in session_members(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


class Supervisor:
    def __init__(self, children: list[Child], *, grace: float, max_failures: int):
        self.children = children
        self.grace = grace
        self.max_failures = max_failures
        self.stop = threading.Event()

    def request_stop(self, signum, _frame) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.stop.set()

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.request_stop)
        while not self.stop.is_set():
            now = time.monotonic()
            for child in self.children:
                if child.proc is None:
                    if now >= child.start_at:
                        child.start()
                    continue
                code = child.proc.poll()
                if code is None:
                    continue
                if self._failed(child, code, now) >= self.max_failures > 0:
                    log.error("%s failed %d times in a row: giving up", child.name, child.failures)
                    self.shutdown()
                    return EXIT_GAVE_UP
            self.stop.wait(POLL)
        self.shutdown()
        return 0

    def _failed(self, child: Child, code: int, now: float) -> int:
        """Clean up after a child that exited and plan its restart; its failure count."""
        proc = child.proc
        if proc is None:
            return child.failures
        kill_session(proc.pid)  # its workers and horses must not run on, unwatched
        if now - child.started_at >= STABLE_AFTER:
            child.failures = 0
        child.failures += 1
        delay = min(2.0 ** (child.failures - 1), MAX_BACKOFF)
        log.warning(
            "%s (pid %d) exited with %s; restarting in %.0f s",
            child.name,
            proc.pid,
            code,
            delay,
        )
        child.proc = None
        child.restarts += 1
        child.start_at = now + delay
        return child.failures

    def shutdown(self) -> None:
        running = [c for c in self.children if c.alive()]
        for child in running:
            child.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        deadline = time.monotonic() + self.grace
        for child in running:
            try:
                child.proc.wait(max(0.0, deadline - time.monotonic()))  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %s s: killed", child.name, self.grace)
            kill_session(child.proc.pid)  # type: ignore[union-attr]
            child.proc.wait()  # type: ignore[union-attr]
        log.info("stopped")


def build_children(args: argparse.Namespace, url: str) -> list[Child]:
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    children = [
        Child(
            "rq worker-pool",
            [
                rq,
                "worker-pool",
                "-n",
                str(args.workers),
                "-w",
                "worker.rq_worker.Worker",
                "--url",
                url,
                *args.queues,
            ],
        )
    ]
    if not args.no_cron:
        children.append(Child("rq cron", [rq, "cron", "--url", url, "worker.cron_config"]))
    return children


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker")
    parser.add_argument("-n", "--workers", type=int, default=2)
    parser.add_argument("--no-cron", action="store_true", help="do not start rq cron")
    parser.add_argument(
        "--grace",
        type=float,
        default=float(os.environ.get("WORKER_SHUTDOWN_GRACE", "25")),
        help="seconds the children get to stop after SIGTERM before they are killed",
    )
    parser.add_argument(
        "--max-failures",
        type=int,
        default=int(os.environ.get("WORKER_MAX_FAILURES", "20")),
        help="exit 3 when a child fails this many times in a row (0: restart forever)",
    )
    parser.add_argument("queues", nargs="*", default=["default"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    url = os.environ.get("REDIS_URL")
    if not url:
        print(
            "REDIS_URL is not set: without Redis, jobs run in-process in the web app.",
            file=sys.stderr,
        )
        return 2
    supervisor = Supervisor(
        build_children(args, url), grace=args.grace, max_failures=args.max_failures
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
