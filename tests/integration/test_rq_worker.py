"""A real RQ worker process runs an outbox job from Redis (REDIS_URL; required in CI)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

ENQUEUE = """
from shared.core import config, db, jobs
database = db.init(config.load())
database.load_default_key()
with db.session_scope() as s:
    jobs.enqueue(s, "worker.jobs.record_heartbeat", queue="{queue}", note="{note}")
"""


@pytest.fixture
def env(tmp_path, redis_url):
    env = {
        **os.environ,
        "SKULDKOLL_ENV": "test",
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'rq.db'}",
        "INSTANCE_DIR": str(tmp_path),
    }
    for cmd in ([BIN / "alembic", "upgrade", "head"], [BIN / "skuldkoll", "keys", "init"]):
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def test_real_rq_worker_runs_the_outbox_job(env, tmp_path, redis_url):
    from redis import Redis
    from rq import Queue

    queue, note = f"test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    subprocess.run(
        [sys.executable, "-c", ENQUEUE.format(queue=queue, note=note)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    q = Queue(queue, connection=Redis.from_url(redis_url))
    assert q.count == 1, "the committed message was handed to RQ"
    db = sqlite3.connect(tmp_path / "rq.db")
    assert db.execute("SELECT dispatched_at IS NOT NULL, done_at FROM outbox").fetchall() == [
        (1, None)
    ]
    worker = subprocess.run(
        [BIN / "rq", "worker", "--burst", "--url", redis_url, queue],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr
    assert db.execute("SELECT done_at IS NOT NULL, attempts FROM outbox").fetchall() == [(1, 1)]
    rows = db.execute("SELECT details FROM audit_log WHERE action = 'worker.heartbeat'").fetchall()
    assert [note in r[0] for r in rows] == [True]
    q.delete(delete_jobs=True)
