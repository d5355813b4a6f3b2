"""Settings from environment variables, read once into a frozen dataclass.

The embedded default (no environment at all) is the demo: SQLite under ``instance/``,
in-process jobs, the local BankID simulator and demo secrets. Production mode refuses
to start with any demo secret.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", ROOT / "instance"))

# Demo secrets: public, in the repository, and refused in production.
DEMO_SECRET_KEY = "demo-secret-key-not-for-production"  # noqa: S105
DEMO_MASTER_KEY = "demo:" + base64.urlsafe_b64encode(b"skuldkoll-demo-master-key-32-byt").decode()
DEMO_BLIND_INDEX_KEY = "demo-blind-index-key-not-for-production"
DEMO_AUDIT_MAC_KEY = "demo:" + base64.urlsafe_b64encode(b"skuldkoll-demo-audit-mac-key-32b").decode(
    "ascii"
)


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    env: str = "demo"  # demo | production | test
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = DEMO_SECRET_KEY
    # "id:base64key,id2:base64key" - the first one wraps new data keys.
    master_keys: str = DEMO_MASTER_KEY
    blind_index_key: str = DEMO_BLIND_INDEX_KEY
    # The audit log's MAC keys, "id:base64key,id2:base64key" like MASTER_KEYS: the first
    # MACs new entries and signs checkpoints, the others only verify older entries.
    audit_mac_keys: str = DEMO_AUDIT_MAC_KEY
    # Where signed checkpoints of the audit chain go (append-only file, outside the
    # database); None = instance_dir/audit-checkpoints.log.
    audit_checkpoint_path: Path | None = None
    audit_checkpoint_every: int = 1000  # entries; besides the worker's job every minute
    port: int = 5000
    base_url: str = "http://127.0.0.1:5000"
    # BankID RP API v6.0. Empty = the local simulator mounted at /bankid-sim.
    bankid_url: str = ""
    bankid_cert: str | None = None  # PEM client certificate (production / BankID test env)
    bankid_key: str | None = None
    bankid_ca: str | None = None  # pinned BankID server CA (PEM)
    # smtp+starttls://user:pass@host:587, smtps://…:465 or smtp:// (no TLS; demo, or
    # with smtp_allow_plaintext); unset = dev outbox (shared.integrations.mail)
    smtp_url: str | None = None
    smtp_ca_file: str | None = None  # PEM CA bundle for the SMTP server; unset = system CAs
    smtp_allow_plaintext: bool = False  # production: allow smtp:// (a relay on this host)
    session_idle_minutes: int = 30
    secure_cookies: bool = False
    instance_dir: Path = field(default=INSTANCE_DIR)

    @property
    def demo(self) -> bool:
        return self.env == "demo"

    @property
    def testing(self) -> bool:
        return self.env == "test"

    @property
    def audit_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_path or self.instance_dir / "audit-checkpoints.log"

    @property
    def bankid_base_url(self) -> str:
        return self.bankid_url or f"http://127.0.0.1:{self.port}/bankid-sim/rp/v6.0/"

    @property
    def bankid_simulated(self) -> bool:
        return not self.bankid_url

    def with_overrides(self, **kw) -> Settings:
        return replace(self, **kw)

    def check(self) -> None:
        """Refuse to run in production with demo secrets or stand-ins."""
        if self.env not in {"demo", "production", "test"}:
            raise ConfigError(f"SKULDKOLL_ENV must be demo, production or test, not {self.env!r}")
        if self.env != "production":
            return
        problems = []
        if self.secret_key == DEMO_SECRET_KEY:
            problems.append("SECRET_KEY")
        if "demo:" in self.master_keys or self.master_keys == DEMO_MASTER_KEY:
            problems.append("MASTER_KEYS")
        if self.blind_index_key == DEMO_BLIND_INDEX_KEY:
            problems.append("BLIND_INDEX_KEY")
        if "demo:" in self.audit_mac_keys or self.audit_mac_keys == DEMO_AUDIT_MAC_KEY:
            problems.append("AUDIT_MAC_KEYS")
        if not self.bankid_url or not self.bankid_cert:
            problems.append("BANKID_URL/BANKID_CERT")
        if self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL (SQLite)")
        if not self.redis_url:
            problems.append("REDIS_URL")
        if not self.smtp_url:
            problems.append("SMTP_URL")
        elif not self.smtp_url.startswith(("smtp+starttls://", "smtps://")) and not (
            self.smtp_url.startswith("smtp://") and self.smtp_allow_plaintext
        ):
            problems.append("SMTP_URL (smtp+starttls:// or smtps://; or SMTP_ALLOW_PLAINTEXT)")
        if problems:
            raise ConfigError("Production mode refuses demo settings; set: " + ", ".join(problems))


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    mode = env.get("SKULDKOLL_ENV", "demo")
    instance_dir = Path(env.get("INSTANCE_DIR", INSTANCE_DIR))
    port = int(env.get("PORT", "5000"))
    settings = Settings(
        env=mode,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'skuldkoll.db'}",
        redis_url=env.get("REDIS_URL") or None,
        secret_key=env.get("SECRET_KEY", DEMO_SECRET_KEY),
        master_keys=env.get("MASTER_KEYS", DEMO_MASTER_KEY),
        blind_index_key=env.get("BLIND_INDEX_KEY", DEMO_BLIND_INDEX_KEY),
        audit_mac_keys=env.get("AUDIT_MAC_KEYS", DEMO_AUDIT_MAC_KEY),
        audit_checkpoint_path=Path(env["AUDIT_CHECKPOINT_PATH"])
        if env.get("AUDIT_CHECKPOINT_PATH")
        else None,
        audit_checkpoint_every=int(env.get("AUDIT_CHECKPOINT_EVERY", "1000")),
        port=port,
        base_url=env.get("BASE_URL", f"http://127.0.0.1:{port}"),
        bankid_url=env.get("BANKID_URL", ""),
        bankid_cert=env.get("BANKID_CERT") or None,
        bankid_key=env.get("BANKID_KEY") or None,
        bankid_ca=env.get("BANKID_CA") or None,
        smtp_url=env.get("SMTP_URL") or None,
        smtp_ca_file=env.get("SMTP_CA_FILE") or None,
        smtp_allow_plaintext=_bool(env.get("SMTP_ALLOW_PLAINTEXT"), False),
        session_idle_minutes=int(env.get("SESSION_IDLE_MINUTES", "30")),
        secure_cookies=_bool(env.get("SECURE_COOKIES"), mode == "production"),
        instance_dir=instance_dir,
    )
    settings.check()
    return settings
