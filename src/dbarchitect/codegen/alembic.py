"""A minimal, real Alembic environment for the revisions `dbarch` writes.

`write_environment(directory)` writes `alembic.ini`, `env.py`, `script.py.mako` and an empty
`versions/` into one directory (Alembic's script location is the directory itself). env.py
takes the database URL from `-x url=…`, else `DATABASE_URL`, else `sqlalchemy.url` in
alembic.ini, and gives plain `postgresql://` and `mysql://` URLs the drivers dbarchitect itself
uses (psycopg 3, PyMySQL). Revisions only run SQL (`op.execute`), so env.py needs no model
metadata. The revision text comes from `dbarchitect.migrate.output.render_alembic`.
"""

from __future__ import annotations

from pathlib import Path

ALEMBIC_INI = """\
# Alembic configuration written by dbarchitect.
# The database URL: `alembic -x url=postgresql://… upgrade head`, or DATABASE_URL.
[alembic]
script_location = %(here)s
prepend_sys_path = .
path_separator = os
sqlalchemy.url =
"""

ENV_PY = '''\
"""Alembic environment written by dbarchitect: runs the revisions in versions/."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool

# Plain URLs as dbarchitect accepts them → the SQLAlchemy drivers it uses.
DRIVERS = {
    "postgres://": "postgresql+psycopg://",
    "postgresql://": "postgresql+psycopg://",
    "mysql://": "mysql+pymysql://",
    "mariadb://": "mysql+pymysql://",
}


def database_url() -> str:
    """-x url=…, else DATABASE_URL, else sqlalchemy.url from alembic.ini."""
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("DATABASE_URL")
        or context.config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("no database URL: pass -x url=... or set DATABASE_URL")
    for plain, driver in DRIVERS.items():
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def run_offline() -> None:
    """Print the SQL instead of running it (alembic upgrade --sql)."""
    context.configure(url=database_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run each revision in its own transaction on a fresh connection."""
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
'''

SCRIPT_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''


def write_environment(directory: Path) -> list[Path]:
    """Write the Alembic environment into `directory` (created if missing); returns the
    files written. Existing revisions in versions/ are left alone."""
    versions = versions_directory(directory)
    versions.mkdir(parents=True, exist_ok=True)
    written = []
    for path, text in (
        (directory / "alembic.ini", ALEMBIC_INI),
        (directory / "env.py", ENV_PY),
        (directory / "script.py.mako", SCRIPT_MAKO),
    ):
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def versions_directory(directory: Path) -> Path:
    """Where the revisions of an environment written by `write_environment` go."""
    return directory / "versions"


__all__ = ["versions_directory", "write_environment"]
