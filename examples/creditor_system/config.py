"""Configuration: a JSON file (``CREDITOR_SYSTEM_CONFIG``), overridden member by member
by environment variables. The demo's ``skuldkoll demo-data`` writes the file into the
instance directory with an API key and a webhook secret that Skuldkoll knows.

    {"api_base": "http://127.0.0.1:5000/creditor/api/v1", "api_key": "sk_live_…",
     "webhook_secrets": ["whsec_…"], "ledger": "creditor_system_ledger.json",
     "port": 5001}

A relative ``ledger`` path is relative to the config file's directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from standardwebhooks.webhooks import Webhook

ENV_PREFIX = "CREDITOR_SYSTEM_"
DEFAULT_FILE = "creditor_system.json"  # the demo writes it into INSTANCE_DIR
DEFAULT_PORT = 5001


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Config:
    api_base: str  # ".../creditor/api/v1", without a trailing slash
    api_key: str
    webhook_secrets: tuple[str, ...]  # several while Skuldkoll rotates the secret
    ledger: Path
    port: int = DEFAULT_PORT
    source: Path | None = None  # the file it came from, reread when it changes
    # The API call after an inquiry: retried on 5xx and connection errors.
    retry_delays: tuple[float, ...] = field(default=(0.5, 1.0, 2.0))
    api_timeout: float = 10.0


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(ENV_PREFIX + "CONFIG"):
        return Path(env[ENV_PREFIX + "CONFIG"])
    instance = Path(env.get("INSTANCE_DIR") or Path(__file__).resolve().parents[2] / "instance")
    return instance / DEFAULT_FILE


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    path = path or default_path(env)
    data: dict = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    for name in ("api_base", "api_key", "ledger", "port"):
        if env.get(ENV_PREFIX + name.upper()):
            data[name] = env[ENV_PREFIX + name.upper()]
    if env.get(ENV_PREFIX + "WEBHOOK_SECRETS"):
        data["webhook_secrets"] = env[ENV_PREFIX + "WEBHOOK_SECRETS"].replace(",", " ").split()
    missing = [k for k in ("api_base", "api_key", "webhook_secrets") if not data.get(k)]
    if missing:
        raise ConfigError(
            f"missing {', '.join(missing)}: write {path} (`skuldkoll demo-data` does in the "
            f"demo) or set {', '.join(ENV_PREFIX + m.upper() for m in missing)}"
        )
    ledger = Path(data.get("ledger") or "creditor_system_ledger.json")
    if not ledger.is_absolute():
        ledger = path.parent / ledger
    secrets = data["webhook_secrets"]
    if isinstance(secrets, str):
        secrets = [secrets]
    for secret in secrets:
        try:
            Webhook(secret)
        except Exception as exc:  # noqa: BLE001 - binascii.Error, EmptyWebhookSecretError
            raise ConfigError(f"webhook_secrets: not a whsec_… secret ({exc})") from None
    return Config(
        api_base=str(data["api_base"]).rstrip("/"),
        api_key=str(data["api_key"]),
        webhook_secrets=tuple(secrets),
        ledger=ledger,
        port=int(data.get("port") or DEFAULT_PORT),
        source=path if path.exists() else None,
    )
