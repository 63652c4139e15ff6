#!/usr/bin/env python
"""``make bench-instructions SCALE=small``: what each scenario's request costs in CPU
instructions, counted by valgrind's callgrind — the same count for the same code, data and
request whatever else the machine runs, where the wall-clock ratios of ``make bench`` move by
tens of percent on a shared machine (bench/FINDINGS.md, section 10).

For each checkout (this one, and each ``--against DIR``: another checkout of lawtracker with its
own ``.venv``, e.g. a ``git worktree`` of an older commit) and each scenario of
``bench/run.py`` (list, detail, compare, gaps, export), a process makes two warm-up requests
in-process (Django's test client), then either none or ``--requests`` more, under callgrind;
the difference of the two counts divided by the requests is one request's cost (twenty by
default, so that the garbage collector's passes, which land in one request or another, are
spread over them). Every process runs with ``PYTHONHASHSEED=0``: with a random seed the order
of sets and dicts of strings, and so the start-up work, changes from one process to the next
by up to ~160 M instructions, which over ten requests is ±4% of a detail request, more than the
differences sought (bench/FINDINGS.md, section 10). The processes run two at a time. Every checkout
reads the same database, ``var/bench/<scale>.sqlite3`` (made by ``make bench``), read-only.
Prints a table of millions of instructions per request, and each checkout's ratio to this one.
Under callgrind Python runs ~50x slower: the small scale takes a few minutes per checkout.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import run  # noqa: E402  (the scenarios' requests, the database and its environment)

SCENARIOS = ("list", "detail", "compare", "gaps", "export")
REQUESTS = BENCH / "request_loop.py"
COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(checkout: Path, env: dict, path: str, requests: int) -> int:
    """Instructions of one process of ``checkout`` making two warm-up requests, then
    ``requests`` requests of ``path``."""
    python = checkout / ".venv" / "bin" / "python"
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         str(python), str(REQUESTS), path, str(requests)],
        cwd=checkout, env={**env, "PYTHONPATH": str(checkout)}, capture_output=True,
        text=True, timeout=3600,
    )
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{checkout}: {path}: valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))




def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["small", "medium", "large"], default="small")
    parser.add_argument("--against", action="append", default=[], type=Path,
                        help="Another checkout to count beside this one (repeatable).")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS,
                        help="Only these scenarios (default: all).")
    parser.add_argument("--requests", type=int, default=20,
                        help="Requests counted per scenario (default 20: a full garbage "
                             "collection costs a few million instructions and lands in one "
                             "request or another; twenty spread it).")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is missing: apt-get install valgrind", file=sys.stderr)
        return 2
    database = run.VAR / f"{args.scale}.sqlite3"
    if not database.exists():
        print(f"{database} is missing: run make bench SCALE={args.scale} first",
              file=sys.stderr)
        return 2
    env = {**run.bench_env(f"sqlite:///{database}"), "PYTHONHASHSEED": "0"}
    os.environ.update(env)
    import django

    django.setup()
    paths = run.paths(run.context())
    checkouts = [run.ROOT, *(p.resolve() for p in args.against)]
    scenarios = args.scenario or list(SCENARIOS)
    runs = [(checkout, scenario, requests) for checkout in checkouts for scenario in scenarios
            for requests in (0, args.requests)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        totals = dict(zip(runs, pool.map(
            lambda r: instructions(r[0], env, paths[r[1]], r[2]), runs)))
    counts = {}
    for checkout in checkouts:
        for scenario in scenarios:
            counts[(checkout, scenario)] = (totals[(checkout, scenario, args.requests)]
                                            - totals[(checkout, scenario, 0)]) / args.requests
            print(f"[{checkout}] {scenario}: {counts[(checkout, scenario)] / 1e6:,.1f} M",
                  file=sys.stderr)
    header = ["scenario", *(str(c) for c in checkouts)]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for scenario in scenarios:
        mine = counts[(run.ROOT, scenario)]
        cells = [f"{mine / 1e6:,.1f} M"]
        for checkout in checkouts[1:]:
            theirs = counts[(checkout, scenario)]
            cells.append(f"{theirs / 1e6:,.1f} M (this one: {mine / theirs:.3f}x)")
        print("| " + " | ".join([scenario, *cells]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
