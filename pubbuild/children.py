"""Starting the build's child processes so that they end with it.

Every process the build starts (pandoc, git, the child builds of `verify`
and `rebuild`) is started through `started` or `run`. On Linux each child
asks the kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`),
through a small Python it is started as, which then execs the command in
the same process (`_EXEC`; about 13 ms a child). A build ended by
SIGKILL, which no handler or `finally` sees (a job queue's or CI's timeout,
the OOM killer), then takes its children with it, and a child build takes
its own pandoc runs: no pandoc goes on parsing for minutes with nobody to
read its output. On other systems nothing is added: children end with the
build only when it ends through Python (an error, the deadline, Ctrl-C).

This module must not know what it starts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def started(command: list[str], **options) -> Iterator[subprocess.Popen]:
    """subprocess.Popen (same options) for a child that dies with the build.

    Leaving the block, by any way, kills the child if it is still running
    and waits for it. This matters beyond tidiness: the kernel sends the
    death signal when the *thread* that forked the child ends, not the
    process, and pandoc runs are started from pool threads. Since a thread
    cannot get past this block while its child lives, a thread never ends
    before its child, and the signal comes only when the whole build dies.
    """
    if sys.platform.startswith("linux"):
        # The child runs nothing of ours between fork and exec: it execs a
        # small Python that asks for the death signal and then execs the
        # command, in the same process. A preexec_fn instead would make
        # subprocess run Python's at-fork hooks in this thread, and a signal
        # handler raising there (Ctrl-C's KeyboardInterrupt, the deadline's
        # OutOfTime) is printed as "Exception ignored" and leaves the
        # logging module's lock held; it would also run Python in a child
        # of a threaded process, where a preloaded library (libfaketime,
        # under `verify`) waits forever for a lock held at the fork.
        command = _through_exec(command, options.get("env"))
    with subprocess.Popen(command, **options) as process:
        try:
            yield process
        finally:
            process.kill()  # nothing, if it has ended
            process.wait()


# argv: the parent's pid, then the command. PR_SET_PDEATHSIG (1) with
# SIGKILL (9) outlives the exec; the pid check is the same race as above.
_EXEC = ("import ctypes, os, sys\n"
         "ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)\n"
         "if os.getppid() != int(sys.argv[1]):\n"
         "    os._exit(1)\n"
         "os.execv(sys.argv[2], sys.argv[2:])\n")


def _through_exec(command: list[str], env: dict | None) -> list[str]:
    """`command` behind the exec wrapper; the program is looked up here, so
    a missing one is FileNotFoundError in the build, as without it."""
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    program = shutil.which(command[0], path=path)
    if program is None:
        raise FileNotFoundError(f"No such file or directory: {command[0]!r}")
    return [sys.executable, "-I", "-S", "-c", _EXEC, str(os.getpid()), program,
            *command[1:]]


def run(command: list[str], *, timeout: float | None = None,
        capture_output: bool = False, **options) -> subprocess.CompletedProcess:
    """subprocess.run through `started`: on its timeout (TimeoutExpired) or
    any other exception the child is killed before the exception goes on."""
    if capture_output:
        options.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with started(command, **options) as process:
        out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(command, process.returncode, out, err)
