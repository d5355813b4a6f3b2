"""Alembic environment: the URL from shared.core.config (or a connection the caller passes)."""

from __future__ import annotations

from alembic import context

from shared import schema
from shared.core import config as skconfig
from shared.core.db import make_engine
from shared.core.models import Encrypted, UTCDateTime

target_metadata = schema.metadata


def render_item(type_, obj, autogen_context):
    """Render our TypeDecorators as the plain types they store, so migrations
    do not depend on model code that may change later."""
    if type_ == "type" and isinstance(obj, Encrypted):
        return "sa.Text()"
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or skconfig.load().database_url
    if url.startswith("sqlite:///"):
        skconfig.load().instance_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    with engine.connect() as conn:
        run_migrations(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=skconfig.load().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_online()
