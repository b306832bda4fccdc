"""`python -m bench` — every figure of docs/measurement.md in one run.

    python -m bench                         offline evaluation + scale at 1k and 10k people
    python -m bench --eval                  offline evaluation (MovieLens-100k) only
    python -m bench --scale                 scale benchmark only
    python -m bench --profiles              profile quality on a real labelled chat corpus,
                                            and topics of hand-labelled developer chat
    python -m bench --scales 1000,10000,100000 --backends sqlite,postgres   the full run
    python -m bench --startup               start-up cost of the command line only
    python -m bench --faults                fault campaign (PostgreSQL cut 3×, 50-person SQLite
                                            burst over Slack HTTP, model faults, 5,000 fuzzed
                                            command lines); exit status 1 if a goal is missed
    python -m bench --memory                cross-platform memories and tool use only
    python -m bench --stages                one DM at a time: main-thread CPU per stage of
                                            the reply path, statements per DM (both backends)
    python -m bench --loop-steps            maximum ingest with every event-loop step timed:
                                            where the long steps (the loop lag) come from,
                                            and where the DMs waited

The offline evaluation needs the MovieLens-100k copy shipped in the ``recbole`` wheel
(``pip install --no-deps recbole==1.2.1``); without it that part is skipped with a message.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: see bench/eval/__main__.py

import argparse
import platform
import time
from pathlib import Path

from bench.eval.__main__ import run_eval
from bench.running import event_loop_name
from bench.scale import ScaleFigures, format_rows, progress_line, run_in_subprocess, targets


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
        f"event loop {event_loop_name()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--eval", action="store_true", help="offline evaluation only")
    only.add_argument("--scale", action="store_true", help="scale benchmark only")
    only.add_argument("--startup", action="store_true", help="CLI start-up cost only")
    only.add_argument(
        "--profiles", action="store_true", help="profile quality on real chat only"
    )
    only.add_argument("--faults", action="store_true", help="fault campaign only (issue 10)")
    parser.add_argument(
        "--postgres-admin-url",
        default=os.environ.get(
            "TAILORBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="server on which --faults creates (and drops) a throw-away database; '' skips",
    )
    parser.add_argument("--fault-people", type=int, default=50)
    parser.add_argument("--fuzz-examples", type=int, default=5_000)
    only.add_argument("--memory", action="store_true", help="memories, links and tools only")
    only.add_argument(
        "--stages", action="store_true", help="CPU per stage of one DM at a time only"
    )
    only.add_argument(
        "--loop-steps", action="store_true",
        help="where the event loop's long steps come from at maximum ingest, and where "
        "the DMs waited",
    )
    parser.add_argument("--loop-events", type=int, default=4_000)
    parser.add_argument("--stage-people", type=int, default=1_000)
    parser.add_argument("--stage-dms", type=int, default=400)
    parser.add_argument("--scales", default="1000,10000", help="people per scale run")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--events", type=int, default=1_000, help="events through Core.handle")
    parser.add_argument("--contexts", type=int, default=1_000, help="context assemblies timed")
    parser.add_argument("--protocols", default="random,temporal")
    parser.add_argument("--digest-people", type=int, default=10_000)
    args = parser.parse_args()
    print(machine(), flush=True)
    started = time.perf_counter()
    if args.profiles:
        from bench.profiles import run_profiles

        print("\n== profiles: real labelled chat through Core.handle ==", flush=True)
        run_profiles()
        from bench.devchat import run_devchat

        print("\n== topics of developer chat (hand-labelled lines, bench/devchat.py) ==",
              flush=True)
        run_devchat()
        from bench.everyday import run_everyday

        print("\n== topics of everyday chat (labelled lines, bench/data/everyday_chat.tsv) ==",
              flush=True)
        run_everyday()
        from bench.languages import run_languages

        print("\n== topics of chat in other languages (chatterbot-corpus, unlabelled) ==",
              flush=True)
        run_languages()
        print(f"\nbench took {time.perf_counter() - started:.0f} s")
        return
    if args.faults:
        from bench.faults import main_faults

        print("\n== fault campaign ==", flush=True)
        status = main_faults(
            args.postgres_admin_url or None, args.fault_people, args.fuzz_examples
        )
        print(f"\nbench took {time.perf_counter() - started:.0f} s")
        raise SystemExit(status)
    if args.memory:
        from bench.memory import run_memory_bench

        print("\n== memory: facts across linked identities, tool rounds ==", flush=True)
        run_memory_bench()
        print(f"\nbench took {time.perf_counter() - started:.0f} s")
        return
    if args.stages:
        from bench.stages import run_stages

        print("\n== stages: one DM at a time through Core.handle, no model ==", flush=True)
        run_stages(args.backends.split(","), args.stage_people, args.stage_dms)
        print(f"\nbench took {time.perf_counter() - started:.0f} s")
        return
    if args.loop_steps:
        from bench.loopsteps import run_loop_steps

        people = int(args.scales.split(",")[0])
        print(f"\n== loop steps: maximum ingest at {people:,} people, every step timed, on "
              "asyncio's loop (whatever the bot runs on: uvloop's steps cannot be timed) ==",
              flush=True)
        run_loop_steps(args.backends.split(","), people, args.loop_events)
        print(f"\nbench took {time.perf_counter() - started:.0f} s")
        return
    if args.startup:
        from bench.startup import run_startup

        print("\n== start-up: tailorbot commands in fresh interpreters ==", flush=True)
        run_startup()
        print(f"\nbench took {time.perf_counter() - started:.0f} s")
        return
    if not args.scale:
        print("\n== offline evaluation: MovieLens-100k ==", flush=True)
        run_eval(args.protocols.split(","))
    if not args.eval:
        print("\n== scale: real pipeline, no model ==", flush=True)
        rows: list[ScaleFigures] = []
        for backend in args.backends.split(","):
            for people in (int(s) for s in args.scales.split(",")):
                # The digest figure is asked for at 10k people: run it at that scale only.
                result = run_in_subprocess(
                    backend, people, args.events, args.contexts, people == args.digest_people
                )
                if isinstance(result, str):
                    print(result, flush=True)
                else:
                    rows.append(result)
                    print(progress_line(result), flush=True)
        if rows:
            print()
            print(format_rows(rows))
            print(targets(rows, args.digest_people))
    print(f"\nbench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
