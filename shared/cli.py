"""``skuldkoll`` command line: demo data, audit verification, keys, first admin."""

from __future__ import annotations

import sys

import click

from shared.core import config
from shared.core import db as dbmod


def _database() -> dbmod.Database:
    settings = config.load()
    database = dbmod.init(settings)
    database.load_default_key()
    return database


@click.group()
def main() -> None:
    """Skuldkoll administration."""


@main.command("demo-data")
def demo_data() -> None:
    """Load the demo organisations and staff (idempotent)."""
    from shared import demo_data as demo

    settings = config.load()
    if settings.env == "production":
        raise click.ClickException("demo data is never loaded in production")
    _database()
    with dbmod.session_scope() as s:
        dbmod.ensure_system_key(s)
        created = demo.load(s)
    click.echo(
        f"demo data: {created['organisations']} new organisations, "
        f"{created['users']} new users, {created['creditors']} new creditors "
        f"(password {demo.DEMO_PASSWORD!r})"
    )


@main.command("audit-verify")
def audit_verify() -> None:
    """Verify the audit log's MAC chain against the signed checkpoints; exit 1 and name
    the first broken entry (or the missing tail, or the missing checkpoint store)."""
    from shared.security import audit

    _database()
    with dbmod.session_scope() as s:
        result = audit.verify(s)
    if result.ok:
        upto = (
            f"up to the checkpoint at seq={result.checkpoint_seq}"
            if result.checkpoint_seq
            else "no checkpoint yet"
        )
        click.echo(f"audit log OK: {result.checked} entries, chain intact ({upto})")
        return
    where = f"entry seq={result.broken_seq}" if result.broken_seq else "the checkpoints"
    click.echo(
        f"audit log BROKEN at {where}: {result.problem} "
        f"({result.checked} entries before it are intact)",
        err=True,
    )
    sys.exit(1)


@main.command("audit-checkpoint")
def audit_checkpoint() -> None:
    """Sign the audit chain's head into the checkpoint store now (the worker does so
    every minute): run it once after upgrading to migration 0016."""
    from shared.security import audit

    _database()
    with dbmod.session_scope() as s:
        cp = audit.write_checkpoint(s)
    store = audit.chain_config().store
    if cp is None:
        click.echo("audit log is empty: no checkpoint needed")
    else:
        click.echo(f"checkpoint at seq={cp.seq} in {getattr(store, 'path', store)}")


@main.group()
def keys() -> None:
    """Envelope encryption keys."""


@keys.command("init")
def keys_init() -> None:
    """Create the system data key if there is none."""
    _database()
    with dbmod.session_scope() as s:
        key_id = dbmod.ensure_system_key(s)
    click.echo(f"system data key: {key_id}")


@keys.command("new-master-key")
@click.argument("key_id")
def keys_new_master(key_id: str) -> None:
    """Print a new master key entry to put first in MASTER_KEYS."""
    from shared.security.crypto import new_master_key_spec

    click.echo(new_master_key_spec(key_id))


@keys.command("rotate-master")
def keys_rotate_master() -> None:
    """Re-wrap every data key under the first master key in MASTER_KEYS.

    Put the new key first, keep the old one after it, run this, then remove the old one.
    Data is not re-encrypted, so this is quick and needs no downtime."""
    from shared.security import audit

    database = _database()
    with dbmod.session_scope() as s:
        count = dbmod.rewrap_data_keys(s)
        audit.record(
            s,
            audit.Actor.system("cli"),
            "keys.master_rotated",
            details={"rewrapped": count, "master": database.keyring.current_master_id},
        )
    click.echo(
        f"re-wrapped {count} data keys under master key {database.keyring.current_master_id!r}"
    )


@keys.command("rotate-data")
def keys_rotate_data() -> None:
    """Make a new current system data key; old ciphertexts stay readable."""
    from shared.security import audit

    _database()
    with dbmod.session_scope() as s:
        row = dbmod.create_data_key(s, "system", current=True)
        audit.record(
            s,
            audit.Actor.system("cli"),
            "keys.data_rotated",
            subject_type="data_key",
            subject_id=row.id,
        )
    click.echo(f"new system data key {row.id}; new values are encrypted under it")


@main.command("create-user")
@click.option("--org-name", required=True)
@click.option("--orgnr", required=True)
@click.option(
    "--org-kind", type=click.Choice(["municipality", "creditor", "agency"]), required=True
)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    type=click.Choice(["counsellor", "municipality_admin", "creditor_agent", "creditor_admin"]),
    required=True,
)
@click.password_option()
def create_user(org_name, orgnr, org_kind, email, name, role, password) -> None:
    """Create an organisation (if new) and a member of staff; TOTP is enrolled at first
    sign-in."""
    from sqlalchemy import select

    from shared.identity.models import ROLE_ORG_KINDS, Organisation, OrgKind, Role, User
    from shared.identity.rules import parse_orgnr
    from shared.security import audit
    from shared.security.passwords import MIN_LENGTH, hash_password

    if len(password) < MIN_LENGTH:
        raise click.BadParameter(f"at least {MIN_LENGTH} characters", param_hint="password")
    orgnr = parse_orgnr(orgnr)
    _database()
    with dbmod.session_scope() as s:
        org = s.scalar(select(Organisation).where(Organisation.orgnr == orgnr))
        if org is None:
            org = Organisation(name=org_name, orgnr=orgnr, kind=OrgKind(org_kind))
            s.add(org)
            s.flush()
        if org.kind not in ROLE_ORG_KINDS[Role(role)]:
            raise click.ClickException(f"a {role} cannot belong to a {org.kind.value}")
        user = User(
            organisation_id=org.id,
            email=email.lower(),
            name=name,
            role=Role(role),
            password_hash=hash_password(password),
        )
        s.add(user)
        s.flush()
        audit.record(
            s, audit.Actor.system("cli"), "user.created", subject_type="user", subject_id=user.id
        )
    click.echo(f"created {role} {email} in {org.name}")


if __name__ == "__main__":
    main()
