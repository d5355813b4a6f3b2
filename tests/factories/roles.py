"""Acting as the application's database role: PostgreSQL row-level security binds a
role that is neither a superuser nor the tables' owner (as production must connect).

On PostgreSQL the whole suite runs so (``run_as_application_role``): the migrations run
as the owner, then every connection of the suite's engine switches to ``APP_ROLE``,
created by the same function as ``skuldkoll db-role create``."""

from __future__ import annotations

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from shared.core import db as dbmod

APP_ROLE = "skuldkoll_app"


def run_as_application_role(engine: Engine) -> None:
    """From now on every connection of ``engine`` is ``APP_ROLE`` (NOLOGIN: the owner's
    connections switch to it with SET ROLE, as ``psql`` would after ``\\c``)."""
    with engine.begin() as conn:
        dbmod.create_application_role(conn, APP_ROLE, login=False)

    @event.listens_for(engine, "connect")
    def _set_role(dbapi_connection, _record) -> None:
        with dbapi_connection.cursor() as cur:
            cur.execute(f"SET ROLE {APP_ROLE}")
        dbapi_connection.commit()

    engine.dispose()  # connections opened as the owner are not reused


def act_as_application_role(db: Session) -> None:
    """From here to the end of the test's transaction the connection is ``APP_ROLE``
    (read and write on every table, owner of none), and the application knows that
    row-level security now binds it. A no-op for the role when the suite already runs
    as it."""
    if db.execute(text("SELECT current_user")).scalar() != APP_ROLE:
        dbmod.create_application_role(db.connection(), APP_ROLE, login=False)
        db.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    db.connection().info.pop(dbmod.ROLE_UNDER_RLS, None)
    db.info.pop(dbmod.ROLE_UNDER_RLS, None)


def act_as_owner(db: Session) -> None:
    """To the end of the test's transaction, the connection is the suite's owner (a
    superuser tampering with the database, a migration): row-level security no longer
    binds it. A no-op off PostgreSQL."""
    if db.bind.dialect.name != "postgresql":
        return
    db.execute(text("SET LOCAL ROLE NONE"))
    db.connection().info.pop(dbmod.ROLE_UNDER_RLS, None)
    db.info.pop(dbmod.ROLE_UNDER_RLS, None)
