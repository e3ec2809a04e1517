#!/usr/bin/env python3
"""Pathological manuscripts through the real build, at the default limits.

    python -m bench.pathological           every case of the tests' PATHOLOGICAL
    python -m bench.pathological NAME ...  only those cases

(From the project's folder. The cases and the way a project is laid out
are the tests' own, so tests/ is put on the path: they are not a package.)

Each case (tests/badinput.py: cmark's pathological inputs at
N = 10,000 and pandoc's extensions pushed the same way) goes into a fresh
project, made as the tests make it, and through `python build.py html`
with SOURCE_DATE_EPOCH set and no PUBBUILD_* limit changed. Prints a
Markdown table: the case, its N, its size, what happened (built, refused
with the build's one line, or anything else) and the wall-clock seconds.
The goal is that every case ends within 10 s; this is a measurement, not
a test, and nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pubbuild.paths import ROOT

sys.path.insert(0, str(ROOT / "tests"))

from badinput import PATHOLOGICAL, N, project  # noqa: E402

HANG = 600  # seconds: past this a case is stopped and reported, not waited for
# The cases whose size is not N: cmark's own counts, or no count at all.
SIZES = {"deeply nested lists": "1,000", "hard link/emph case": "1",
         "capitals without a space": "20,000",
         "U+0000 in input": "1", "YAML aliases (billion laughs)": "9^9"}


def run(name: str, folder: Path) -> tuple[str, float]:
    """Build one case; (what happened, seconds)."""
    manuscript = project(folder, body=f"Text ([Vu, 2021](#)).\n\n"
                                      f"{PATHOLOGICAL[name]}\n")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PUBBUILD_")}
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "-q", "html", "--manuscript",
         str(manuscript), "--out", str(folder / "dist")], cwd=folder, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the build and its pandoc
        process.communicate()
        return f"other: still running after {HANG} s", time.perf_counter() - started
    seconds = time.perf_counter() - started
    lines = stderr.strip().splitlines()
    if process.returncode == 0 and (folder / "dist" / "paper.html").is_file():
        return "built", seconds
    if process.returncode == 1 and len(lines) == 1 and "Traceback" not in stderr:
        return f"refused: {_code(lines[0])}", seconds
    return f"other: exit {process.returncode}, {' / '.join(lines[-2:])}", seconds


def _code(text: str) -> str:
    """Markdown code for a line that may hold backticks itself."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="cases to run (default: all, in the tests' order)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in PATHOLOGICAL]
    if unknown:
        parser.error(f"no such case: {', '.join(unknown)}")
    print("| input | N | size | result | seconds |\n|---|---|---|---|---|",
          flush=True)
    slowest = 0.0
    for name in args.names or PATHOLOGICAL:
        with tempfile.TemporaryDirectory(prefix="pathological-") as tmp:
            result, seconds = run(name, Path(tmp))
        slowest = max(slowest, seconds)
        size = len(PATHOLOGICAL[name].encode())
        print(f"| {name} | {SIZES.get(name, f'{N:,}')} | {size:,} B | {result} | "
              f"{seconds:.2f} |", flush=True)
    print(f"\nSlowest: {slowest:.2f} s (goal: every case within 10 s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
