"""Browser tests: the real demo server (a subprocess on a free port, fresh SQLite,
demo data) driven by Playwright in the system Chromium.

Every browser context a test opens (through the ``browser`` fixture) is watched: a
Content Security Policy violation on any of its pages - a console error or an uncaught
error - fails the test, and the contexts are closed when the test ends."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# shot: still importable from here for tests written before it moved to flows.py.
from tests.e2e.flows import ROOT, SHOTS, WATCH, WatchedBrowser, fail_on_violations, shot  # noqa: F401
from tests.factories import need_service

BIN = Path(sys.executable).parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test that passed fails if its pages violated the CSP meanwhile."""
    result = yield
    fail_on_violations("in the browser")
    return result


@pytest.fixture(autouse=True)
def no_csp_violations():
    """Closes the test's browser contexts, then fails it on any violation that came in
    after the test body (while its pages were still open)."""
    WATCH.take()
    yield
    WATCH.close_contexts()
    fail_on_violations("in the browser, after the test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_env(tmp_path_factory) -> dict[str, str]:
    """The demo server's environment: a script run with it (``sys.executable -c``) uses
    the server's SQLite database under ``INSTANCE_DIR``."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        SKULDKOLL_ENV="demo",
        INSTANCE_DIR=str(tmp_path_factory.mktemp("demo")),
        PORT=str(free_port()),
    )
    return env


@pytest.fixture(scope="session")
def demo_server(demo_env):
    env = demo_env
    tmp, port = Path(env["INSTANCE_DIR"]), env["PORT"]
    for cmd in ([BIN / "alembic", "upgrade", "head"], [BIN / "skuldkoll", "demo-data"]):
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "wsgi.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310 - localhost
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError((tmp / "server.log").read_text())
    yield base
    proc.terminate()
    proc.wait(10)
    log.close()


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        need_service("Chromium", "apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield WatchedBrowser(browser)
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        locale="sv-SE", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
