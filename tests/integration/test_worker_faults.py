"""Faults with a real ``python -m worker`` on a redis-server of the test's own: Redis
down and back (the outbox drains by itself), every worker process killed mid-job (the
job runs again within a minute)."""

from __future__ import annotations

import signal
import socket
import sqlite3
import threading
import time

from tests.factories.worker_env import kill_everything, run_script, start_worker, worker_env

ENQUEUE = """
from shared.core import jobs, logcontext
with logcontext.bound("req-{note}"), db.session_scope() as s:
    jobs.enqueue(s, "worker.jobs.record_heartbeat", note="{note}")
"""

QUEUE_EMAIL = """
from shared import schema  # noqa: F401
from shared.core import mail
with db.session_scope() as s:
    mail.queue_email(s, to="a@example.se", subject="s", body="b", kind="test")
"""


def outbox(path) -> list[tuple]:
    with sqlite3.connect(path) as c:
        return c.execute(
            "SELECT dispatched_at IS NOT NULL, done_at IS NOT NULL, request_id FROM outbox"
        ).fetchall()


def wait_for(predicate, timeout: float, what: str) -> float:
    """Seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_redis_down_and_back_the_outbox_drains_by_itself(own_redis, tmp_path):
    env = worker_env(tmp_path, own_redis.url)
    db_file = tmp_path / "worker.db"
    worker = start_worker(env)
    try:
        own_redis.stop()
        time.sleep(2)  # the worker's processes notice and die; it starts them again
        # A state change commits with its outbox row although Redis is away.
        run_script(env, ENQUEUE.format(note="n1"))
        assert outbox(db_file) == [(0, 0, "req-n1")]
        time.sleep(3)
        assert worker.poll() is None, "the supervisor waits for Redis"
        own_redis.start()
        took = wait_for(lambda: outbox(db_file)[0][1] == 1, 60, "the message is done")
        assert took < 60
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    log = worker.stderr.read()
    assert "exited with" in log and "restarting" in log  # the children came back
    assert "[req-n1] job worker.jobs.record_heartbeat" in log, "the worker logs the request id"


class HangingSmtp:
    """An SMTP server that never greets: the sending job hangs until killed. Records
    when each connection arrived."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.arrivals: list[float] = []
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.arrivals.append(time.monotonic())
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_a_job_whose_worker_was_killed_runs_again_within_a_minute(own_redis, tmp_path):
    smtp = HangingSmtp()
    env = worker_env(tmp_path, own_redis.url, SMTP_URL=f"smtp://127.0.0.1:{smtp.port}")
    first = start_worker(env)
    second = None
    try:
        run_script(env, QUEUE_EMAIL)
        wait_for(lambda: len(smtp.arrivals) == 1, 30, "the job is running")
        time.sleep(1)
        kill_everything(first)  # supervisor, pool, worker, work horse, rq cron
        killed_at = time.monotonic()
        second = start_worker(env)
        wait_for(lambda: len(smtp.arrivals) >= 2, 70, "the job runs again")
        assert smtp.arrivals[1] - killed_at < 60
        assert outbox(tmp_path / "worker.db")[0][1] == 0, "not done: the mail is not sent yet"
        smtp.close()
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        smtp.close()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
        if second is not None:
            print(second.stderr.read())  # noqa: T201 - shown when the test fails
