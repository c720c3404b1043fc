"""Alembic environment: the URL comes from ``jifa.app.migrate.alembic_config``."""

from alembic import context

import jifa.app.schema  # noqa: F401  (registers every model)
from core.db import Base, autocommit, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration recreates a table on SQLite (copy, drop, rename): with
        # foreign keys on, the drop would fail on referencing rows or cascade-delete
        # them. The pragma only changes outside a transaction (Alembic's documented
        # remedy); foreign_key_check below proves the copy kept every reference.
        _sqlite_foreign_keys(connection, on=False)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        if connection.in_transaction():
            connection.commit()
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection, *, on: bool) -> None:
    if connection.in_transaction():  # only after a failure: the migration is undone
        connection.rollback()
    autocommit(connection, True)
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    autocommit(connection, False)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
