"""The embedded default never rots: migrations, demo data (twice), the WSGI app and the
audit CLI, on a fresh SQLite file, as `make demo` runs them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

CHECK_APP = """
import wsgi
from werkzeug.test import Client
c = Client(wsgi.application)
r = c.get("/")
body = r.get_data(as_text=True)
assert r.status_code == 200, r.status_code
assert "anna.berg@demo.skuldkoll.se" in body and "skuldkoll-demo" in body, body[:2000]
h = c.get("/healthz")
assert h.status_code == 200 and h.json["database"] == "ok", h.json
assert "olof.drift@demo.skuldkoll.se" in body and "/operator/" in body
for prefix in ("counsellor", "creditor", "operator"):
    assert c.get(f"/{prefix}/login").status_code == 200, prefix
for prefix in ("client", "debtor"):
    assert c.get(f"/{prefix}/login").status_code == 200, prefix
assert c.get("/bankid-sim/app").status_code == 200
print("ok")
"""


def run(args, env, **kw):
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, **kw)


def test_migrations_demo_data_app_and_audit_verify_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(SKULDKOLL_ENV="demo", INSTANCE_DIR=str(tmp_path))
    assert run([BIN / "alembic", "upgrade", "head"], env).returncode == 0
    first = run([BIN / "skuldkoll", "demo-data"], env)
    assert first.returncode == 0, first.stderr
    assert "6 new organisations, 8 new users, 5 new creditors" in first.stdout
    again = run([BIN / "skuldkoll", "demo-data"], env)
    assert again.returncode == 0
    assert "0 new organisations, 0 new users, 0 new creditors" in again.stdout
    app = run([sys.executable, "-c", CHECK_APP], env, timeout=120)
    assert app.returncode == 0 and "ok" in app.stdout, app.stderr[-3000:]

    no_checkpoint = run([BIN / "skuldkoll", "audit-verify"], env)
    assert no_checkpoint.returncode == 1 and "checkpoint store is missing" in no_checkpoint.stderr
    checkpoint = run([BIN / "skuldkoll", "audit-checkpoint"], env)
    assert checkpoint.returncode == 0 and "checkpoint at seq=" in checkpoint.stdout
    ok = run([BIN / "skuldkoll", "audit-verify"], env)
    assert ok.returncode == 0 and "chain intact" in ok.stdout
    db = sqlite3.connect(tmp_path / "skuldkoll.db")
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
    db.commit()
    cut = run([BIN / "skuldkoll", "audit-verify"], env)
    assert cut.returncode == 1 and "entries at the end were deleted" in cut.stderr
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET action = 'forged' WHERE seq = 1")
    db.commit()
    broken = run([BIN / "skuldkoll", "audit-verify"], env)
    assert broken.returncode == 1 and "seq=1" in broken.stderr


def test_create_user_without_a_terminal(tmp_path):
    """The platform operator from the environment's password, a user from stdin, and a
    clear refusal when there is neither (no terminal to ask)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(SKULDKOLL_ENV="demo", INSTANCE_DIR=str(tmp_path))
    env.pop("SKULDKOLL_PASSWORD", None)
    assert run([BIN / "alembic", "upgrade", "head"], env).returncode == 0
    operator = [
        *(BIN / "skuldkoll", "create-user", "--org-name", "Skuldkoll drift"),
        *("--orgnr", "559900-0006", "--org-kind", "platform", "--name", "Drift"),
        *("--email", "drift@example.se", "--role", "platform_operator"),
    ]
    refused = run(operator, env, input="")
    assert refused.returncode != 0 and "SKULDKOLL_PASSWORD" in refused.stderr
    created = run(operator, {**env, "SKULDKOLL_PASSWORD": "ett långt lösenord"})
    assert created.returncode == 0, created.stderr
    assert "created platform_operator drift@example.se" in created.stdout
    agent = [
        *(BIN / "skuldkoll", "create-user", "--org-name", "Nordisk Inkasso AB"),
        *("--orgnr", "556712-3459", "--org-kind", "agency", "--name", "Sara Ek"),
        *("--email", "sara@example.se", "--role", "creditor_agent", "--password-stdin"),
    ]
    short = run(agent, env, input="kort\n")
    assert short.returncode != 0 and "at least 12 characters" in short.stderr
    piped = run(agent, env, input="ett annat långt lösenord\n")
    assert piped.returncode == 0, piped.stderr
    db = sqlite3.connect(tmp_path / "skuldkoll.db")
    roles = dict(db.execute("SELECT email, role FROM users").fetchall())
    assert roles == {"drift@example.se": "platform_operator", "sara@example.se": "creditor_agent"}
