"""A throw-away PostgreSQL database for one benchmark run, on the server that
``TAILORBOT_BENCH_POSTGRES_URL`` names (TCP on 127.0.0.1 by default; a local server's socket
works too: ``postgresql://postgres@/postgres?host=/var/run/postgresql``)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
from sqlalchemy.engine import make_url


def postgres_admin_url() -> str:
    return os.environ.get(
        "TAILORBOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """The URL of a new, empty database on the admin URL's server, dropped afterwards. The
    URL keeps everything but the database name (host, port, a socket's ``?host=``)."""
    admin = postgres_admin_url()
    name = f"tailorbot_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
