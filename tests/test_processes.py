"""A killed build leaves no process behind.

A job queue or CI timeout ends a build with SIGKILL, which no handler sees.
Every child (pandoc, git, a child build of `verify`) must die with it
rather than go on parsing for minutes at up to 2 GB (pubbuild.children).
Each test starts a real build, waits until pandoc is busy parsing, kills
the build's Python with SIGKILL, and waits, with a hang guard only, until
no process it started is alive; how long that took is printed (`pytest -rP`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import GOOD_BIB, ROOT, child_env

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="the children's death signal is Linux's "
                              "(PR_SET_PDEATHSIG); /proc is read"),
]

HANG = 30  # seconds: a guard against hanging, not a measure of speed

# Brackets nested 6 deep, the most the pre-scan lets through
# (pubbuild/prescan.py), in 2,000 paragraphs: 30 kB that keep pandoc's
# Markdown reader busy for minutes, far longer than any test.
SLOW_TO_PARSE = ("[" * 6 + "a" + "]" * 6 + "\n\n") * 2000


def slow_manuscript(folder: Path) -> Path:
    (folder / "refs.bib").write_text(GOOD_BIB, encoding="utf-8")
    manuscript = folder / "paper.md"
    manuscript.write_text(
        f"---\ntitle: T\nbibliography: refs.bib\ncsl: {ROOT / 'bib' / 'apa.csl'}\n"
        f"---\n\nText ([Vu, 2021](#)).\n\n{SLOW_TO_PARSE}\n", encoding="utf-8")
    return manuscript


STDERR = "stderr.txt"  # in the build's folder: what it said, if it ended


@contextlib.contextmanager
def started(*args: str, cwd: Path, env: dict | None = None):
    """`python build.py ARGS` in a session of its own (the session's id is
    its pid, and every process it starts keeps it, even once orphaned). On
    the way out, whatever is left of that session is killed, so that a
    failing test does not leave pandoc running for minutes. A killed
    build cannot remove its temporary folders: they are made in `cwd`."""
    (cwd / "tmp").mkdir()
    with open(cwd / STDERR, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "build.py"), *args], cwd=cwd,
            stdout=subprocess.DEVNULL, stderr=stderr,
            env=child_env(PUBBUILD_TIME_LIMIT="600", TMPDIR=str(cwd / "tmp"),
                          **(env or {})),
            start_new_session=True)
    try:
        yield process
    finally:
        process.kill()
        process.wait()
        for left in in_session(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(left.pid, signal.SIGKILL)


# -- the process table -------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    session: int
    start: int        # in ticks since boot: with the pid, names one process
    cpu: float        # seconds used so far
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.pid} {' '.join(self.argv)[:80]}"


def process(pid: int) -> Process | None:
    """The running process `pid`, or None if it has ended (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    # Fields from the state on (the name before it may hold spaces).
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return Process(pid, int(fields[1]), int(fields[3]), int(fields[19]),
                   (int(fields[11]) + int(fields[12])) / TICKS,
                   tuple(arg.decode(errors="replace") for arg in argv if arg))


def table() -> list[Process]:
    found = (process(int(path.name)) for path in Path("/proc").iterdir()
             if path.name.isdigit())
    return [p for p in found if p is not None]


def descendants(pid: int) -> list[Process]:
    everyone = table()
    family, parents = [], {pid}
    while True:
        born = [p for p in everyone if p.ppid in parents and p not in family]
        if not born:
            return family
        family += born
        parents = {p.pid for p in born}


def in_session(leader: int) -> list[Process]:
    return [p for p in table() if p.session == leader]


def still_running(recorded: list[Process]) -> list[Process]:
    """Those of `recorded` still running (a reused pid is another process)."""
    now = [(p, process(p.pid)) for p in recorded]
    return [p for p, found in now if found is not None and found.start == p.start]


def parsing(processes: list[Process]) -> Process | None:
    """Pandoc reading the Markdown manuscript, having worked half a second
    on it: truly inside the parse, not starting up."""
    for p in processes:
        argv = list(p.argv)
        if (argv and Path(argv[0]).name == "pandoc" and "--from" in argv
                and argv[argv.index("--from") + 1].startswith("markdown")
                and p.cpu >= 0.5):
            return p
    return None


def wait_for_parse(leader: subprocess.Popen, cwd: Path
                   ) -> tuple[Process, list[Process]]:
    """Wait until pandoc parses under `leader`; then its descendants."""
    deadline = time.monotonic() + 240  # a copy of the project, on a busy machine
    while time.monotonic() < deadline:
        assert leader.poll() is None, ("the build ended before pandoc parsed: "
                                       + (cwd / STDERR).read_text())
        family = descendants(leader.pid)
        parse = parsing(family)
        if parse:
            return parse, family
        time.sleep(0.05)
    pytest.fail("pandoc never got to parse the manuscript")


def kill_and_wait(leader: subprocess.Popen, family: list[Process]
                  ) -> tuple[float, list[Process]]:
    """SIGKILL `leader`; (seconds until none of `family` and nothing in its
    session is alive, what is left when the guard gives up)."""
    killed = time.monotonic()
    os.kill(leader.pid, signal.SIGKILL)
    leader.wait()
    while True:
        left = {p.pid: p for p in still_running(family) + in_session(leader.pid)}
        seconds = time.monotonic() - killed
        if not left or seconds > HANG:
            return seconds, list(left.values())
        time.sleep(0.01)


# -- the tests -----------------------------------------------------------------

# With a library preloaded (libfaketime, as `verify`'s second build and the
# reproducibility tests run), children start through an exec wrapper
# instead: the same guarantee by another road (pubbuild.children).
@pytest.mark.slow
@pytest.mark.parametrize("preloaded", [False, True],
                         ids=["plain", "under-libfaketime"])
def test_a_build_killed_mid_parse_takes_pandoc_with_it(tmp_path, preloaded):
    from pubbuild import reproduce

    manuscript = slow_manuscript(tmp_path)
    env = reproduce.faketime("2031-06-15 08:30:00") if preloaded else {}
    assert env or not preloaded, "libfaketime.so.1 is missing"
    with started("-q", "html", "--manuscript", str(manuscript), "--out",
                 str(tmp_path / "dist"), cwd=tmp_path, env=env) as build:
        parse, family = wait_for_parse(build, tmp_path)
        assert parse.ppid == build.pid
        seconds, left = kill_and_wait(build, family)
    # Otherwise pandoc goes on parsing for minutes, at up to 2 GB, for no one.
    assert left == [], (f"still running {seconds:.0f} s after the build was "
                        f"killed: {', '.join(map(str, left))}")
    print(f"killed mid-parse: {len(family)} processes it started, none left "
          f"after {seconds:.2f} s")


@pytest.mark.slow
def test_a_killed_verify_takes_its_child_build_and_its_pandoc(tmp_path):
    manuscript = slow_manuscript(tmp_path)
    with started("verify", "html", "--manuscript", str(manuscript),
                 cwd=tmp_path) as verify:
        parse, family = wait_for_parse(verify, tmp_path)
        child_build = next(p for p in family if p.pid == parse.ppid)
        assert child_build.ppid == verify.pid
        assert any(arg.endswith("build.py") for arg in child_build.argv)
        seconds, left = kill_and_wait(verify, family)
    # Otherwise the child build goes on to its own time limit (minutes),
    # and its pandoc with it.
    assert left == [], (f"still running {seconds:.0f} s after verify was "
                        f"killed: {', '.join(map(str, left))}")
    print(f"verify killed while its child build parsed: {len(family)} "
          f"descendants, none left after {seconds:.2f} s")
