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
    # Where the wrapped data keys live (shared.security.keystore): file:///dir,
    # sqlite:///file or a PostgreSQL database of its own - never the application's
    # database, so its backups hold no keys. Empty = file://$INSTANCE_DIR/keys.
    key_store_url: str = ""
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
    # SPAR PersonSök program-program (the population register). Empty URL = the local
    # test population (demo, tests); production refuses to start without SPAR.
    spar_url: str = ""
    spar_cert: str | None = None  # PKCS#12 file with the municipality's certificate
    spar_cert_password: str | None = None
    spar_ca: str | None = None  # PEM bundle pinning SPAR's server CA (default: system CAs)
    spar_customer_number: str | None = None  # KundNrLeveransMottagare
    spar_end_customer_number: str | None = None  # KundNrSlutkund (default: the same)
    spar_assignment_id: str | None = None  # UppdragId
    spar_timeout: float = 10.0  # seconds, per request
    session_idle_minutes: int = 30
    # Absolute session lifetimes, however active: a working day for staff; shorter for
    # citizens, who sign in again with BankID in seconds and use shared devices more.
    session_max_hours_staff: float = 12
    session_max_hours_citizen: float = 2
    secure_cookies: bool = False
    # Take X-Request-ID from the request (set by a trusted reverse proxy) instead of
    # making one up; only behind a proxy that sets or strips it.
    trust_request_id: bool = False
    # /healthz answers 503 when one of these ages (seconds) is exceeded; 0 = not checked.
    healthz_outbox_max_age: int = 900  # the oldest message not yet done
    healthz_cron_max_age: int = 300  # the last outbox sweep (rq cron and a worker)
    healthz_deadlines_max_age: int = 7800  # the hourly fullmakt and inquiry deadlines
    # Reverse proxies in front of the application whose X-Forwarded-For (and -Proto,
    # -Host, -Prefix) are trusted; 0 = none: the client address is the connection's.
    trusted_proxies: int = 0
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
    def key_store(self) -> str:
        return self.key_store_url or (self.instance_dir / "keys").as_uri()

    @property
    def bankid_base_url(self) -> str:
        return self.bankid_url or f"http://127.0.0.1:{self.port}/bankid-sim/rp/v6.0/"

    @property
    def bankid_simulated(self) -> bool:
        return not self.bankid_url

    def session_max_hours(self, login: str) -> float:
        """The absolute lifetime of a ``staff`` or ``citizen`` session."""
        return self.session_max_hours_staff if login == "staff" else self.session_max_hours_citizen

    def with_overrides(self, **kw) -> Settings:
        return replace(self, **kw)

    def check(self) -> None:
        """Refuse to run in production with demo secrets or stand-ins."""
        if self.env not in {"demo", "production", "test"}:
            raise ConfigError(f"SKULDKOLL_ENV must be demo, production or test, not {self.env!r}")
        self._check_spar()
        if self.key_store_url and self.key_store_url == self.database_url:
            raise ConfigError("KEY_STORE_URL must not be the application's database")
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
        if not self.key_store_url:
            problems.append("KEY_STORE_URL (the data keys' store, outside the database)")
        if not self.redis_url:
            problems.append("REDIS_URL")
        if not self.smtp_url:
            problems.append("SMTP_URL")
        elif not self.smtp_url.startswith(("smtp+starttls://", "smtps://")) and not (
            self.smtp_url.startswith("smtp://") and self.smtp_allow_plaintext
        ):
            problems.append("SMTP_URL (smtp+starttls:// or smtps://; or SMTP_ALLOW_PLAINTEXT)")
        if not self.spar_url.startswith("https://") or not self.spar_cert:
            problems.append("SPAR_URL (https)/SPAR_CERT")
        if problems:
            raise ConfigError("Production mode refuses demo settings; set: " + ", ".join(problems))

    def _check_spar(self) -> None:
        """SPAR's identification (IdentifieringsinformationWs): customer numbers
        500001-599999 and a positive assignment id, whenever SPAR_URL is set."""
        if not self.spar_url:
            return
        problems = []
        for name, value in (
            ("SPAR_CUSTOMER_NUMBER", self.spar_customer_number),
            ("SPAR_END_CUSTOMER_NUMBER", self.spar_end_customer_number or "500001"),
        ):
            if not (value or "").isdigit() or not 500001 <= int(value) <= 599999:
                problems.append(f"{name} (SPAR's customer number, 500001-599999)")
        if not (self.spar_assignment_id or "").isdigit() or int(self.spar_assignment_id) < 1:
            problems.append("SPAR_ASSIGNMENT_ID (uppdragsid from SPAR)")
        if self.spar_cert and not Path(self.spar_cert).is_file():
            problems.append(f"SPAR_CERT (no file at {self.spar_cert})")
        if self.spar_timeout <= 0:
            problems.append("SPAR_TIMEOUT (seconds, above 0)")
        if problems:
            raise ConfigError("SPAR_URL is set, so also set: " + ", ".join(problems))


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
        key_store_url=env.get("KEY_STORE_URL", ""),
        port=port,
        base_url=env.get("BASE_URL", f"http://127.0.0.1:{port}"),
        bankid_url=env.get("BANKID_URL", ""),
        bankid_cert=env.get("BANKID_CERT") or None,
        bankid_key=env.get("BANKID_KEY") or None,
        bankid_ca=env.get("BANKID_CA") or None,
        smtp_url=env.get("SMTP_URL") or None,
        spar_url=env.get("SPAR_URL", ""),
        spar_cert=env.get("SPAR_CERT") or None,
        spar_cert_password=env.get("SPAR_CERT_PASSWORD") or None,
        spar_ca=env.get("SPAR_CA") or None,
        spar_customer_number=env.get("SPAR_CUSTOMER_NUMBER") or None,
        spar_end_customer_number=env.get("SPAR_END_CUSTOMER_NUMBER") or None,
        spar_assignment_id=env.get("SPAR_ASSIGNMENT_ID") or None,
        spar_timeout=float(env.get("SPAR_TIMEOUT", "10")),
        smtp_ca_file=env.get("SMTP_CA_FILE") or None,
        smtp_allow_plaintext=_bool(env.get("SMTP_ALLOW_PLAINTEXT"), False),
        session_idle_minutes=int(env.get("SESSION_IDLE_MINUTES", "30")),
        session_max_hours_staff=float(env.get("SESSION_MAX_HOURS_STAFF", "12")),
        session_max_hours_citizen=float(env.get("SESSION_MAX_HOURS_CITIZEN", "2")),
        secure_cookies=_bool(env.get("SECURE_COOKIES"), mode == "production"),
        trust_request_id=_bool(env.get("TRUST_REQUEST_ID"), False),
        healthz_outbox_max_age=int(env.get("HEALTHZ_OUTBOX_MAX_AGE", "900")),
        healthz_cron_max_age=int(env.get("HEALTHZ_CRON_MAX_AGE", "300")),
        healthz_deadlines_max_age=int(env.get("HEALTHZ_DEADLINES_MAX_AGE", "7800")),
        trusted_proxies=int(env.get("TRUSTED_PROXIES", "0")),
        instance_dir=instance_dir,
    )
    settings.check()
    return settings
