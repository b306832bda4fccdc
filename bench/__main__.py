"""`python -m bench [--people N] [--messages M] [--backends sqlite,postgres]`"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import uuid

import psycopg

from bench.pipeline import Figures, run, run_sqlite


def postgres_admin_url() -> str:
    return os.environ.get(
        "TAILORBOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )


async def run_postgres(n_people: int, n_messages: int, n_context: int) -> Figures:
    admin = postgres_admin_url()
    name = f"tailorbot_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin.rpartition("/")[0] + "/" + name
        return await run("postgres", url, n_people, n_messages, n_context)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--contexts", type=int, default=1_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{'backend':9} {'people':>7} {'msgs':>6} {'msgs/s':>8} {'signals/s':>10} "
        f"{'ctx p50 ms':>11} {'ctx p99 ms':>11} {'prompt p50':>11} {'prompt p99':>11} "
        f"{'peak RSS MB':>12}"
    )
    for backend in args.backends.split(","):
        runner = run_sqlite if backend == "sqlite" else run_postgres
        f = asyncio.run(runner(args.people, args.messages, args.contexts))
        print(
            f"{f.backend:9} {f.people:>7} {f.messages:>6} {f.messages_per_s:>8.0f} "
            f"{f.signals_per_s:>10.0f} {f.context_p50_ms:>11.2f} {f.context_p99_ms:>11.2f} "
            f"{f.prompt_p50_ms:>11.2f} {f.prompt_p99_ms:>11.2f} {f.peak_rss_mb:>12.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
