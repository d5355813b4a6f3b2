"""A redis-server of the test's own, to stop and start (the shared one is never stopped)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from .services import need_service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``redis-server`` on a free port of 127.0.0.1, without persistence."""

    def __init__(self, workdir: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            need_service("redis-server", "not on PATH")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(  # noqa: S603 - the system's redis-server
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
        )
        from redis import Redis

        client = Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return self
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
