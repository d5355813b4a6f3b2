"""A real ``python -m worker`` on a SQLite file of its own: the environment, a script run
as a separate process (as a web request would commit), the worker's processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .database import ROOT

BIN = Path(sys.executable).parent


def worker_env(tmp_path: Path, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment for the web side and the worker: migrated database, data key."""
    env = {
        **os.environ,
        "SKULDKOLL_ENV": "test",
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.db'}",
        "INSTANCE_DIR": str(tmp_path),
        **extra,
    }
    for cmd in ([BIN / "alembic", "upgrade", "head"], [BIN / "skuldkoll", "keys", "init"]):
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603
    return env


def run_script(env: dict[str, str], script: str) -> subprocess.CompletedProcess:
    """``script`` in a process of its own, after ``database`` and ``db`` are set up."""
    prelude = (
        "from shared.core import config, db\n"
        "database = db.init(config.load())\n"
        "database.load_default_key()\n"
    )
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", prelude + script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "worker", "-n", "1", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_everything(proc: subprocess.Popen) -> None:
    """SIGKILL the supervisor and every process of its children (workers, work horses,
    rq cron), as a lost machine or the OOM killer would."""
    from worker.__main__ import session_members

    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
        children = [int(p) for p in f.read().split()]
    os.kill(proc.pid, signal.SIGKILL)
    for child in children:
        for pid in session_members(child):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
