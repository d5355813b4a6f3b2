"""Set up the database and keyring once per worker process (no Flask)."""

from __future__ import annotations

import logging

from shared import schema  # noqa: F401 - every model registered before a job runs
from shared.core import clock, config, logcontext
from shared.core import db as dbmod

log = logging.getLogger(__name__)


def ensure_initialised() -> dbmod.Database:
    try:
        return dbmod.get()
    except RuntimeError:
        pass
    logcontext.configure()  # the request id in every log line of the jobs
    settings = config.load()
    if settings.demo:
        clock.use_demo_offset_file(settings.instance_dir / "demo_clock.json")
    database = dbmod.init(settings)
    database.load_default_key()
    return database
