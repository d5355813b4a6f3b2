"""Page benchmarks (``make bench``; the method, targets and results: docs/benchmarks.md):
the portals' pages under concurrent signed-in clients, served as in production, each
beside a bare route of the same app measured in the same run.

* Data: a scale database (``BENCH_DATABASE_URL``, ``make bench-data``) and a demo-scale
  one (``BENCH_DEMO_DATABASE_URL``, generated when missing), both from ``bench/generate.py``
  with the known accounts of ``bench/accounts.py``.
* The application connects as ``skuldkoll_app`` (LOGIN, not superuser, no BYPASSRLS, owner
  of nothing); the run refuses to start unless row-level security binds that role.
* gunicorn serves ``wsgi:application`` (sync workers, 2 per core) with SKULDKOLL_ENV=test:
  PostgreSQL, jobs in-process, the sign-in rate limits off (50 sign-ins in a row from one
  address), BankID from the project's simulator run in this process (``BANKID_URL``),
  whose store the harness approves each order in, as a tester does in its test app.
* The load generator is this process: one ``httpx.AsyncClient`` per signed-in user (its
  own cookies), closed-loop on one page; every request started in the window after the
  warm-up counts, and every non-200 answer is an error.
* The bare route: the counsellor portal's sign-in page without a session (same portal
  factory, hooks and layout; no database). The app has no signed-in route that reads
  nothing but the session, and none is added for the benchmark.
* SQL statements per request are counted in this process (the same portals, database and
  role, a ``before_cursor_execute`` listener) with the load's sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyotp
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url

from bench import accounts, generate, report
from bench.report import BARE, Measurement
from shared.core import config
from shared.core import db as dbmod

ROOT = Path(__file__).resolve().parents[1]
APP_ROLE = "skuldkoll_app"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/skuldkoll_bench"
DEFAULT_DEMO_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/skuldkoll_bench_demo"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass(frozen=True)
class Page:
    name: str
    who: str  # whose client asks: counsellor, agent, client, api or anonymous
    path: str  # {case}: the user's client case, {inquiry}: its inquiry to creditor 0
    method: str = "GET"


PAGES = (
    Page(BARE, "anonymous", "/counsellor/login"),
    Page("counsellor case list", "counsellor", "/counsellor/"),
    Page("case page", "counsellor", "/counsellor/cases/{case}"),
    Page("report", "counsellor", "/counsellor/cases/{case}/report"),
    Page("summary", "counsellor", "/counsellor/cases/{case}/summary"),
    Page("plan", "counsellor", "/counsellor/cases/{case}/plan"),
    Page("creditor inbox", "agent", "/creditor/"),
    Page("inquiry page", "agent", "/creditor/inquiries/{inquiry}"),
    Page("Kundfrågor search", "agent", "/creditor/customers", "POST"),
    Page("webhook log", "agent", "/creditor/webhooks"),
    Page("client case page", "client", "/client/cases/{case}"),
    Page("API inquiry list", "api", "/creditor/api/v1/inquiries?limit=50"),
)


@dataclass
class User:
    """Signed-in user i of each kind: counsellor i, agent i of creditor 0 and client i,
    with client i's case (counsellor i's) and its inquiry to creditor 0."""

    index: int
    case: str
    inquiry: str
    personnummer: str
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    search_csrf: str = ""

    def request(self, page: Page) -> tuple[httpx.AsyncClient, str, str, dict]:
        url = page.path.format(case=self.case, inquiry=self.inquiry)
        kw: dict = {}
        if page.method == "POST":  # the Kundfrågor search, as its htmx form posts it
            kw = {
                "data": {"number": self.personnummer, "csrf_token": self.search_csrf},
                "headers": {"HX-Request": "true"},
            }
        return self.clients[page.who], page.method, url, kw


# -- the databases -----------------------------------------------------------------------


def database_exists(url: str) -> bool:
    u = make_url(url)
    engine = create_engine(u.set(database="postgres"))
    with engine.connect() as c:
        found = c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database})
    engine.dispose()
    return bool(found)


def ensure_demo_database(url: str) -> None:
    if database_exists(url):
        return
    print(f"{make_url(url).database} is missing: generating it (bench.generate --scale demo)")
    cmd = [sys.executable, "-m", "bench.generate", "--database-url", url, "--scale", "demo"]
    subprocess.run(cmd, cwd=ROOT, check=True)  # noqa: S603 - our own interpreter and module


def app_url(url: str) -> str:
    """The same database as the application role (trust authentication on localhost)."""
    return make_url(url).set(username=APP_ROLE, password=None).render_as_string(False)


def app_environ(url: str) -> dict[str, str]:
    """The application's environment: this one (MASTER_KEYS and BLIND_INDEX_KEY as the
    generator had them; unset, both are the demo's) in test mode, as the application role,
    without Redis (jobs in-process)."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    store = generate.key_store_for(url, config.load(env))  # where the generator put them
    return env | {"SKULDKOLL_ENV": "test", "DATABASE_URL": app_url(url), "KEY_STORE_URL": store}


def prepare_role(owner: Engine) -> None:
    """The application's role, as ``skuldkoll db-role create`` makes it (idempotent)."""
    with owner.begin() as c:
        dbmod.create_application_role(c, APP_ROLE)


def check_rls(owner: Engine, app: Engine) -> str:
    """Refuse to measure unless row-level security binds the application's role: it owns
    no table, and a transaction acting for an organisation without cases sees none of
    them (creditor 0's share is reported beside)."""
    with owner.connect() as c:
        owned = c.scalar(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = :r"),
            {"r": APP_ROLE},
        )
        creditor_org = c.scalar(
            text("SELECT organisation_id FROM users WHERE email = :e"),
            {"e": accounts.agent_email(0)},
        )
        total = c.scalar(text("SELECT count(*) FROM cases"))
    if creditor_org is None:
        raise SystemExit(f"no {accounts.agent_email(0)}: not a bench database (make bench-data)")
    seen = {}
    for label, org in (("nobody", uuid.uuid4()), ("creditor 0", creditor_org)):
        with app.begin() as c:
            role = c.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            ).one()
            c.execute(text("SELECT set_config('app.org_id', :o, true)"), {"o": str(org)})
            seen[label] = c.scalar(text("SELECT count(*) FROM cases"))
    if owned or role.rolsuper or role.rolbypassrls or not total or seen["nobody"]:
        raise SystemExit(
            f"refusing to run: RLS does not bind {APP_ROLE} (owns {owned} tables, superuser "
            f"{role.rolsuper}, bypassrls {role.rolbypassrls}; an organisation without cases "
            f"sees {seen['nobody']} of {total})"
        )
    return (
        f"RLS binds {APP_ROLE}: an organisation without cases sees 0 of {total} cases, "
        f"creditor 0 sees {seen['creditor 0']}"
    )


def resolve_users(owner: Engine, count: int, blind_index_key: str) -> list[User]:
    """Client i's case with counsellor i, and its inquiry to creditor 0 (read as the owner:
    the benchmark's own bookkeeping, not a measured request)."""
    from shared.security import crypto

    users = []
    with owner.connect() as c:
        for i in range(count):
            pnr = accounts.client_personnummer(i)
            row = c.execute(
                text(
                    "SELECT k.id AS case_id, i.id AS inquiry_id FROM cases k "
                    "JOIN persons p ON p.id = k.person_id "
                    "JOIN users u ON u.id = k.counsellor_id "
                    "JOIN inquiries i ON i.case_id = k.id "
                    "JOIN creditors cr ON cr.id = i.creditor_id "
                    "WHERE p.pnr_index = :idx AND u.email = :counsellor "
                    "AND cr.organisation_id = (SELECT organisation_id FROM users WHERE email = :a) "
                    "ORDER BY k.created_at DESC, i.created_at DESC LIMIT 1"
                ),
                {
                    "idx": crypto.blind_index(blind_index_key, pnr),
                    "counsellor": accounts.counsellor_email(i),
                    "a": accounts.agent_email(0),
                },
            ).first()
            if row is None:
                raise SystemExit(f"client {i} has no case of counsellor {i} with an inquiry")
            users.append(User(i, str(row.case_id), str(row.inquiry_id), pnr))
    return users


# -- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BankIdSimulator:
    """The project's BankID simulator on a local port, in this process: its order store is
    where the benchmark approves each sign-in (the test app's "Legitimera")."""

    def __init__(self):
        from werkzeug.serving import WSGIRequestHandler, make_server

        from simulators.bankid import create_app

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args, **kwargs) -> None:
                pass

        self.app = create_app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}/rp/v6.0/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def approve(self, personnummer: str) -> None:
        store = self.app.extensions["bankid_simulator"]["store"]
        pending = store.pending()
        assert len(pending) == 1, f"{len(pending)} pending BankID orders (one sign-in at a time)"
        user = {"personalNumber": personnummer, "name": "", "givenName": "", "surname": ""}
        completion = {
            "user": user,  # no names: the portal keeps the ones the generator gave
            "device": {"ipAddress": "127.0.0.1"},
            "bankIdIssueDate": "2020-01-01",
            "stepUp": {"mrtd": False},
            "signature": "",
            "ocspResponse": "",
        }
        assert store.complete(pending[0], completion)


class Server:
    """gunicorn serving wsgi:application on a free local port, as the application role."""

    def __init__(self, url: str, bankid_url: str, workers: int):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.seen_workers: set[str] = set()
        self.instance = tempfile.TemporaryDirectory(prefix="skuldkoll-bench-")
        env = app_environ(url) | {
            "BANKID_URL": bankid_url,
            "INSTANCE_DIR": self.instance.name,
            "PORT": str(self.port),
        }
        gunicorn = Path(sys.executable).parent / "gunicorn"
        cmd = [str(gunicorn), "wsgi:application", "--workers", str(workers)]
        cmd += ["--worker-class", "sync", "--bind", f"127.0.0.1:{self.port}"]
        cmd += ["--log-level", "warning"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env)  # noqa: S603
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}")
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise SystemExit("gunicorn did not answer /healthz within 60 s")

    def workers_status(self) -> list[dict[str, str]]:
        """/proc/PID/status of each worker (the master's children)."""
        out = []
        for path in Path("/proc").glob("[0-9]*/status"):
            try:
                lines = path.read_text().splitlines()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in lines if ":" in line)
            if int(fields["PPid"]) == self.proc.pid:
                out.append(fields | {"Pid": path.parent.name})
                self.seen_workers.add(path.parent.name)
        return out

    @property
    def restarts(self) -> int:
        """Workers gunicorn started anew (a request over its 30 s timeout kills one)."""
        return max(0, len(self.seen_workers) - self.workers)

    def worker_rss_mb(self) -> list[float]:
        return sorted(int(f["VmRSS"].split()[0]) / 1024 for f in self.workers_status())

    def settle(self, owner: Engine, limit: float = 600.0) -> float:
        """Wait until the workers are idle (under 5% of a core for half a second) and the
        database runs no statement of the application's: requests the clients gave up on
        (--timeout) must not weigh on the next window. Returns the seconds waited."""

        def ticks() -> int:
            total = 0
            for f in self.workers_status():
                try:
                    stat = Path(f"/proc/{f['Pid'].strip()}/stat").read_text()
                except OSError:
                    continue
                total += sum(int(x) for x in stat.rsplit(")", 1)[1].split()[11:13])
            return total

        def queries() -> int:
            with owner.connect() as c:
                return c.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE usename = :r AND state = 'active'"
                    ),
                    {"r": APP_ROLE},
                )

        began = time.monotonic()
        before = ticks()
        while time.monotonic() - began < limit:
            time.sleep(0.5)
            now = ticks()
            if now - before <= os.sysconf("SC_CLK_TCK") * 0.5 * 0.05 and not queries():
                break
            before = now
        return time.monotonic() - began

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.instance.cleanup()


# -- signing in ------------------------------------------------------------------------------


async def csrf_token(client: httpx.AsyncClient, path: str) -> str:
    r = await client.get(path)
    match = CSRF.search(r.text)
    assert match, f"no CSRF token on {path} ({r.status_code})"
    return match.group(1)


def totp_code(owner: Engine, email: str) -> str:
    """The code of a step the server still accepts for ``email`` (the current one or the
    next; one use per step), waiting for a fresh step when both were used."""
    totp = pyotp.TOTP(accounts.TOTP_SECRET)
    while True:
        with owner.connect() as c:
            last = c.scalar(
                text("SELECT totp_last_counter FROM users WHERE email = :e"), {"e": email}
            )
        current = totp.timecode(datetime.now(UTC))
        for step in (current, current + 1):
            if last is None or step > last:
                return totp.generate_otp(step)
        time.sleep(30 - time.time() % 30 + 0.1)


async def sign_in_staff(client: httpx.AsyncClient, portal: str, email: str, owner: Engine):
    login = f"/{portal}/login"
    data = {"email": email, "password": accounts.PASSWORD}
    r = await client.post(login, data={**data, "csrf_token": await csrf_token(client, login)})
    step = r.headers.get("Location", "")
    assert r.status_code == 303 and step.startswith(login + "/"), (
        f"{email}: the sign-in form answered {r.status_code}, not 303 to the code step: it "
        "refused the address (a reserved domain such as .invalid?) or the password"
    )
    code = totp_code(owner, email)
    r = await client.post(step, data={"code": code, "csrf_token": await csrf_token(client, step)})
    target = r.headers.get("Location", "")
    assert r.status_code == 303 and not target.startswith(login), (
        f"{email}: TOTP code refused ({r.status_code})"
    )


async def sign_in_citizen(client: httpx.AsyncClient, personnummer: str, bankid: BankIdSimulator):
    token = await csrf_token(client, "/client/login")
    r = await client.post("/client/login/bankid", data={"csrf_token": token})
    assert r.status_code == 200 and "HX-Push-Url" in r.headers, f"BankID start: {r.status_code}"
    bankid.approve(personnummer)
    r = await client.get(r.headers["HX-Push-Url"])
    assert r.status_code == 303, f"the BankID order did not sign in: {r.status_code}"


async def sign_in(users: list[User], kind: str, server: Server, bankid, owner, timeout):
    """A client of ``kind`` for every user, signed in one at a time (no burst of sign-ins):
    staff with password and TOTP, clients with BankID; the API's with the key."""
    for user in users:
        headers = {"Authorization": f"Bearer {accounts.API_KEY}"} if kind == "api" else {}
        http = user.clients[kind] = httpx.AsyncClient(
            base_url=server.base, headers=headers, timeout=timeout, follow_redirects=False
        )
        if kind == "counsellor":
            await sign_in_staff(http, "counsellor", accounts.counsellor_email(user.index), owner)
        elif kind == "agent":
            await sign_in_staff(http, "creditor", accounts.agent_email(user.index), owner)
            user.search_csrf = await csrf_token(http, "/creditor/customers")
        elif kind == "client":
            await sign_in_citizen(http, user.personnummer, bankid)


# -- measuring ---------------------------------------------------------------------------


async def measure(page: Page, users: list[User], warmup: float, seconds: float) -> Measurement:
    """``len(users)`` clients, each closed-loop on ``page``: the requests started within
    the window after the warm-up count (their latency if 200, else their error). Each
    client goes on until one of its requests counted, so a page slower than the window
    still gets figures; the window then lasts until the last of them answered."""
    result = Measurement(page.name, len(users), seconds)
    start = time.perf_counter() + warmup
    end = last = start + seconds

    async def run(user: User) -> None:
        nonlocal last
        client, method, url, kw = user.request(page)
        counted = False
        while (t0 := time.perf_counter()) < end or not counted:
            try:
                r = await client.request(method, url, **kw)
                error = None if r.status_code == 200 else str(r.status_code)
            except httpx.HTTPError as exc:  # a timeout too (--timeout)
                error = type(exc).__name__
            t1 = time.perf_counter()
            if t0 >= start:
                counted, last = True, max(last, t1)
                if error is None:
                    result.latencies.append(t1 - t0)
                else:
                    result.errors[error] += 1

    await asyncio.gather(*(run(u) for u in users))
    result.seconds = last - start
    return result


def count_statements(url: str, user: User, pages: list[Page]) -> dict[str, int]:
    """SQL statements per request of each page, in-process with ``user``'s sessions."""
    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client

    from portals import client, counsellor, creditor
    from shared.core import db as dbmod

    overrides = {"SETTINGS": config.load(app_environ(url))}
    portals = {"/counsellor": counsellor, "/client": client, "/creditor": creditor}
    app = DispatcherMiddleware(NotFound(), {k: m.create_app(overrides) for k, m in portals.items()})
    statements = Counter()

    def count(*_args) -> None:
        statements["n"] += 1

    engine = dbmod.get().engine
    event.listen(engine, "before_cursor_execute", count)
    out = {}
    try:
        for page in pages:
            http, method, url, kw = user.request(page)
            browser = Client(app)
            for cookie in http.cookies.jar:
                browser.set_cookie(cookie.name, cookie.value, path=cookie.path)
            # The same User-Agent: the session's protection hash stays the same.
            headers = dict(http.headers) | kw.get("headers", {})
            for _ in range(2):  # one to warm up (data keys, caches), one to count
                statements.clear()
                r = browser.open(url, method=method, data=kw.get("data"), headers=headers)
                assert r.status_code == 200, f"{page.name}: {r.status_code} in-process"
            out[page.name] = statements["n"]
    finally:
        event.remove(engine, "before_cursor_execute", count)
        engine.dispose()
    return out


@dataclass
class Run:
    """One database's measurements."""

    label: str
    measurements: list[Measurement]
    statements: dict[str, int]
    worker_rss_mb: list[float]
    rls: str
    load_cpu: float  # the load generator's CPU time over the wall time of the windows
    restarts: int  # gunicorn workers killed (timeout) and started anew during the load


async def load(label: str, pages: list[Page], users: list[User], server, bankid, owner, args):
    """Each page at each level, its users signed in just before their first page (no
    session waits idle through the other portals' pages); the load generator's CPU share."""
    measurements: list[Measurement] = []
    cpu = wall = 0.0
    for page in pages:
        if page.who not in users[0].clients:
            await sign_in(users, page.who, server, bankid, owner, args.timeout)
            print(f"[{label}] {len(users)} {page.who} clients signed in", flush=True)
        for level in args.clients:
            if (waited := server.settle(owner)) > 5:
                print(f"[{label}] waited {waited:.0f} s for the server to go idle", flush=True)
            c0, w0 = time.process_time(), time.perf_counter()
            m = await measure(page, users[:level], args.warmup, args.seconds)
            cpu, wall = cpu + time.process_time() - c0, wall + time.perf_counter() - w0
            measurements.append(m)
            print(
                f"[{label}] {page.name:22s} @{level:3d}: median {m.median_ms:7.1f} ms  "
                f"p95 {m.p95_ms:7.1f} ms  {m.rps:6.1f} req/s  errors {m.error_count}",
                flush=True,
            )
    order = {p.name: i for i, p in enumerate(pages)}
    measurements.sort(key=lambda m: (m.clients, order[m.page]))  # the table: level by level
    return measurements, cpu / wall if wall else 0.0


async def close(users: list[User]) -> None:
    for user in users:
        for http in user.clients.values():
            await http.aclose()


def run_database(label: str, url: str, pages: list[Page], args, bankid) -> Run:
    owner = create_engine(url)
    prepare_role(owner)
    app = create_engine(app_url(url))
    rls = check_rls(owner, app)
    app.dispose()
    print(f"[{label}] {make_url(url).database}: {rls}", flush=True)
    count = min(max(args.clients), accounts.SIGN_IN_USERS)
    users = resolve_users(owner, count, config.load(app_environ(url)).blind_index_key)
    server = Server(url, bankid.url, args.workers)
    try:
        measurements, cpu = asyncio.run(load(label, pages, users, server, bankid, owner, args))
        rss = server.worker_rss_mb()
        restarts = server.restarts
    finally:
        asyncio.run(close(users))  # their cookies stay: the statement count uses them
        server.stop()
        owner.dispose()
    statements = count_statements(url, users[0], pages)
    return Run(label, measurements, statements, rss, rls, cpu, restarts)


# -- output ------------------------------------------------------------------------------------


def machine(url: str, workers: int) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")),
        platform.processor() or "?",
    )
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem_kb = next(
        (int(ln.split()[1]) for ln in meminfo.splitlines() if ln.startswith("MemTotal")), 0
    )
    engine = create_engine(url)
    with engine.connect() as c:
        pg = c.scalar(text("SHOW server_version"))
    engine.dispose()
    return {
        "CPU": model,
        "cores": str(os.cpu_count()),
        "RAM": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "PostgreSQL": pg,
        "Python": platform.python_version(),
        "gunicorn": f"{workers} sync workers",
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--clients",
        type=int,
        nargs="+",
        default=[10, 50],
        help="concurrency levels (default: 10 50; at most 50)",
    )
    p.add_argument("--seconds", type=float, default=15.0, help="window per page and level")
    p.add_argument("--warmup", type=float, default=3.0, help="warm-up before each window")
    p.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="gunicorn workers (default: 2 per core)",
    )
    p.add_argument(
        "--pages",
        nargs="+",
        metavar="PAGE",
        choices=[pg.name for pg in PAGES[1:]],
        help="only these pages (the bare route is always measured)",
    )
    p.add_argument(
        "--skip-demo",
        action="store_true",
        help="do not measure the demo database (no × demo figures)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds a request may take before it counts as an error (default: 60)",
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="save the raw results here")
    args = p.parse_args(argv)
    if max(args.clients) > accounts.SIGN_IN_USERS or min(args.clients) < 1:
        p.error(f"--clients must be between 1 and {accounts.SIGN_IN_USERS}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    demo_url = os.environ.get("BENCH_DEMO_DATABASE_URL", DEFAULT_DEMO_URL)
    pages = [PAGES[0], *(p for p in PAGES[1:] if not args.pages or p.name in args.pages)]
    if not database_exists(url):
        raise SystemExit(f"{make_url(url).database} does not exist: run `make bench-data` first")
    if not args.skip_demo:
        ensure_demo_database(demo_url)
    bankid = BankIdSimulator()
    demo = None if args.skip_demo else run_database("demo", demo_url, pages, args, bankid)
    scale = run_database("scale", url, pages, args, bankid)

    info = machine(url, args.workers)
    counts = {
        p.name: (demo.statements.get(p.name) if demo else None, scale.statements.get(p.name))
        for p in pages
    }
    demo_ms = demo.measurements if demo else []
    print()
    demo_name = make_url(demo_url).database if demo else "not measured"
    print(f"Scale database: {make_url(url).database}; demo database: {demo_name}")
    print("Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    print(f"Bare route: {BARE} = GET /counsellor/login without a session (no database)")
    print(
        f"Window {args.seconds:g} s after {args.warmup:g} s warm-up per page and level; "
        f"load generator CPU {scale.load_cpu:.0%} of one core (scale run)"
    )
    print()
    print(report.table(report.HEADERS, report.rows(scale.measurements, demo_ms, counts)))
    print()
    for run in (demo, scale):
        if run:
            print(
                f"Worker RSS after the load ({run.label}): "
                + ", ".join(f"{x:.0f} MB" for x in run.worker_rss_mb)
                + f"; workers restarted after a timeout: {run.restarts}"
            )
    print()
    verdicts = report.verdicts(scale.measurements, demo_ms, counts, scale.worker_rss_mb)
    print("\n".join(report.summary(verdicts)))
    failed = sum(not v.passed for v in verdicts)
    print(f"\n{len(verdicts) - failed} targets met, {failed} missed")
    if args.json:
        raw = {
            "machine": info,
            "scale_database": make_url(url).database,
            "demo_database": make_url(demo_url).database,
            "args": {k: v for k, v in vars(args).items() if k != "json"},
            "runs": {
                run.label: {
                    "measurements": [m.as_json() for m in run.measurements],
                    "statements": run.statements,
                    "worker_rss_mb": run.worker_rss_mb,
                    "rls": run.rls,
                    "load_cpu": run.load_cpu,
                    "worker_restarts": run.restarts,
                }
                for run in (demo, scale)
                if run
            },
            "verdicts": [v.__dict__ for v in verdicts],
        }
        args.json.write_text(json.dumps(raw, indent=1, ensure_ascii=False, default=str))
    return 1 if failed else 0
