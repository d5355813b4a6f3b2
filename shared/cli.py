"""``skuldkoll`` command line: demo data, audit verification, keys, first admin."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from shared.core import config
from shared.core import db as dbmod


def _database() -> dbmod.Database:
    settings = config.load()
    database = dbmod.init(settings)
    database.load_default_key()
    return database


@contextmanager
def _operator_session() -> Iterator:
    """The operator's commands work across tenants: a session in the system scope."""
    with dbmod.system_scope(), dbmod.session_scope() as s:
        yield s


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
    with _operator_session() as s:
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
    with _operator_session() as s:
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
    with _operator_session() as s:
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
    with _operator_session() as s:
        key_id = dbmod.ensure_system_key(s)
    click.echo(f"system data key: {key_id}")


@keys.command("move-to-store")
def keys_move_to_store() -> None:
    """Move the wrapped data keys still in the database's data_keys table to the key
    store (KEY_STORE_URL), where the database's backups do not reach them.

    Migration 0018 does this itself unless it ran in production without KEY_STORE_URL;
    the app refuses to start while keys are left in the table. Each key is written to
    the store and read back before its row forgets it; safe to run again."""
    from shared.security import audit

    settings = config.load()
    database = dbmod.init(settings)
    with database.engine.begin() as conn:
        moved = dbmod.move_keys_to_store(conn, database.key_store)
    with _operator_session() as s:
        database.load_default_key(s)
        if moved:
            audit.record(
                s,
                audit.Actor.system("cli"),
                "keys.moved_to_store",
                details={"keys": moved},
            )
    click.echo(f"moved {moved} data keys to the key store {database.key_store.url}")


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
    with _operator_session() as s:
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


@keys.command("reencrypt-persons")
@click.option("--batch", default=500, show_default=True, help="rows per transaction")
def keys_reencrypt_persons(batch: int) -> None:
    """Encrypt every person's data under a data key of the person's own.

    A person's key is destroyed with the person's row, so a database backup no longer
    decrypts a person who is gone; earlier versions encrypted persons under the system
    key (or a registered client under the case's key). Gives each person without a key
    its own and moves the values there. Commits each batch; safe to stop and run again
    (persons already under their key are skipped)."""
    from shared.identity import persons
    from shared.security import audit

    _database()
    read = rewritten = unreadable = 0
    after = None
    while True:
        with _operator_session() as s:
            step = persons.reencrypt_batch(s, after=after, size=batch)
            if step.rewritten:
                audit.record(
                    s,
                    audit.Actor.system("cli"),
                    "keys.persons_reencrypted",
                    details={"rows": step.rewritten},
                )
        read, rewritten = read + step.read, rewritten + step.rewritten
        unreadable += step.unreadable
        after = step.last_id
        if after is None:
            break
    click.echo(f"{read} persons read, {rewritten} re-encrypted under their own data keys")
    if unreadable:
        click.echo(
            f"{unreadable} persons have values under a destroyed key and were left as they are"
        )


@keys.command("rotate-data")
def keys_rotate_data() -> None:
    """Make a new current system data key; old ciphertexts stay readable."""
    from shared.security import audit

    _database()
    with _operator_session() as s:
        row = dbmod.create_data_key(s, "system", current=True)
        audit.record(
            s,
            audit.Actor.system("cli"),
            "keys.data_rotated",
            subject_type="data_key",
            subject_id=row.id,
        )
    click.echo(f"new system data key {row.id}; new values are encrypted under it")


PASSWORD_ENV = "SKULDKOLL_PASSWORD"  # noqa: S105 - the variable's name, not a password


def _password(from_stdin: bool) -> str:
    """The new user's password: from stdin (``--password-stdin``, its first line), from
    ``SKULDKOLL_PASSWORD``, or asked for twice on a terminal; never from an argument
    (it would stand in the process list and the shell history)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"no terminal to ask for the password: set {PASSWORD_ENV} or use --password-stdin"
        )
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@main.command("create-user")
@click.option("--org-name", required=True)
@click.option("--orgnr", required=True)
@click.option(
    "--org-kind",
    type=click.Choice(["municipality", "creditor", "agency", "platform"]),
    required=True,
    help="platform: the platform operator's own organisation",
)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    type=click.Choice(
        [
            "counsellor",
            "municipality_admin",
            "creditor_agent",
            "creditor_admin",
            "platform_operator",
        ]
    ),
    required=True,
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help=f"read the password from the first line of stdin (else ${PASSWORD_ENV} or a prompt)",
)
def create_user(org_name, orgnr, org_kind, email, name, role, password_stdin) -> None:
    """Create an organisation (if new) and a member of staff; TOTP is enrolled at first
    sign-in. The platform operator: --org-kind platform --role platform_operator."""
    from sqlalchemy import select

    from shared.identity.models import ROLE_ORG_KINDS, Organisation, OrgKind, Role, User
    from shared.identity.rules import EmailAddressError, email_address, parse_orgnr
    from shared.identity.staff_auth import find_user
    from shared.security import audit
    from shared.security.passwords import MIN_LENGTH, hash_password

    password = _password(password_stdin)
    if len(password) < MIN_LENGTH:
        raise click.BadParameter(f"at least {MIN_LENGTH} characters", param_hint="password")
    try:
        email = email_address(email).lower()
    except EmailAddressError:
        raise click.BadParameter("not a valid e-mail address", param_hint="--email") from None
    try:
        orgnr = parse_orgnr(orgnr)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--orgnr") from None
    _database()
    with _operator_session() as s:
        if find_user(s, email) is not None:
            raise click.ClickException(f"a user {email} exists already")
        org = s.scalar(select(Organisation).where(Organisation.orgnr == orgnr))
        if org is None:
            org = Organisation(name=org_name, orgnr=orgnr, kind=OrgKind(org_kind))
            s.add(org)
            s.flush()
        if org.kind not in ROLE_ORG_KINDS[Role(role)]:
            raise click.ClickException(f"a {role} cannot belong to a {org.kind.value}")
        with dbmod.tenant(org.id):
            user = User(
                organisation_id=org.id,
                email=email,
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


@main.group("db-role")
def db_role() -> None:
    """The database role the application connects as."""


@db_role.command("create")
@click.option("--name", default="skuldkoll_app", show_default=True)
@click.option(
    "--password-env",
    metavar="VARIABLE",
    help="Environment variable holding the role's password (unset: the password is left "
    "as it is, e.g. for certificate or peer authentication).",
)
@click.option(
    "--database-url",
    envvar="DATABASE_URL",
    required=True,
    help="The tables' owner's connection (default: DATABASE_URL).",
)
def db_role_create(name: str, password_env: str | None, database_url: str) -> None:
    """Create or update the application's role: LOGIN, not superuser, no BYPASSRLS,
    owner of nothing, may read and write every table (also those of later migrations),
    so PostgreSQL row-level security binds it. Run it as the owner after `alembic
    upgrade head`, then connect the application as this role."""
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise click.ClickException(f"{password_env} is not set")
    engine = dbmod.make_engine(database_url)
    if engine.dialect.name != "postgresql":
        raise click.ClickException("database roles are a PostgreSQL matter")
    try:
        with engine.begin() as conn:
            dbmod.create_application_role(conn, name, password=password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"role {name}: may read and write every table, row-level security binds it")
