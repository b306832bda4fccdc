"""`python -m bench.eval [--protocols random,temporal]`"""

from __future__ import annotations

import os

# Before numpy is imported: implicit asks for single-threaded BLAS (its own loops are
# parallel), and the figures must not depend on a BLAS thread pool.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval")
    parser.add_argument("--protocols", default="random,temporal")
    args = parser.parse_args(argv)
    return run_eval(args.protocols.split(","))


def run_eval(protocols: list[str]) -> int:
    from bench.eval.data import DatasetMissing, load

    try:
        data = load()
    except DatasetMissing as exc:
        print(f"offline evaluation skipped: {exc}")
        return 0
    from bench.eval.run import run
    from bench.eval.splits import PROTOCOLS

    chosen = [p for p in PROTOCOLS if p in protocols]
    started, cpu = time.perf_counter(), time.process_time()
    run(data, chosen)
    print(
        f"offline evaluation took {time.perf_counter() - started:.0f} s "
        f"({time.process_time() - cpu:.0f} CPU-s, all threads)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
