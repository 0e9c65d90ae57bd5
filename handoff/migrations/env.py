"""Alembic environment of the handoff schema.

The database comes, in this order, from a connection that
`handoff.db.upgrade_database` passes in `config.attributes["connection"]`,
from the URL in `config.attributes["database_url"]`, or from
HANDOFF_DATABASE_URL (`handoff.config.load_settings`). Alembic's own logging
set-up is not used, so running the migrations keeps the caller's logging.
"""

from alembic import context

from handoff.config import load_settings
from handoff.db import VERSION_TABLE, get_engine
from handoff.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_, obj, autogen_context):
    # Revisions must not import handoff.models, which changes over time, so a
    # UTCDateTime column is written as the type it is stored as.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot alter most column and constraint definitions in place:
        # batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )


def run_migrations_offline() -> None:
    """Write the SQL of the migrations to standard output (`alembic upgrade --sql`)."""
    url = config.attributes.get("database_url") or load_settings().database_url
    context.configure(
        url=url,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply the migrations on a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.attributes.get("database_url") or load_settings().database_url
    with get_engine(url).begin() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
