"""``python -m worker``: an RQ worker pool (with the scheduler for retries) on REDIS_URL.

For production you may equally run ``rq worker-pool -n 4 --with-scheduler`` plus one
``rq cron worker.cron_config``; this entry point starts both for convenience.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m worker")
    parser.add_argument("-n", "--workers", type=int, default=2)
    parser.add_argument("--no-cron", action="store_true", help="do not start rq cron")
    parser.add_argument("queues", nargs="*", default=["default"])
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if not url:
        print(
            "REDIS_URL is not set: without Redis, jobs run in-process in the web app.",
            file=sys.stderr,
        )
        return 2
    bindir = os.path.dirname(sys.executable)
    procs = [
        subprocess.Popen(  # noqa: S603 - our own rq, arguments from our flags
            [
                os.path.join(bindir, "rq"),
                "worker-pool",
                "-n",
                str(args.workers),
                "--url",
                url,
                *args.queues,
            ]
        )
    ]
    if not args.no_cron:
        procs.append(
            subprocess.Popen(  # noqa: S603 - our own rq, arguments from our flags
                [
                    os.path.join(bindir, "rq"),
                    "cron",
                    "--url",
                    url,
                    "worker.cron_config",
                ]
            )
        )
    try:
        return max(p.wait() for p in procs)
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        return 0


if __name__ == "__main__":
    sys.exit(main())
