"""How long a build may take and how much memory its tools may use.

One deadline covers the whole command, however many pandoc runs, filters
and renders it takes: `start` sets it, every pandoc run is given what is
left of it as its timeout, and an alarm in the main thread stops the
Python stages (filters, WeasyPrint) when it passes. A huge or pathological
manuscript therefore ends within PUBBUILD_TIME_LIMIT seconds (default 300)
with one line, and no child process is left running: a pandoc run is
killed when its timeout passes or the alarm interrupts it, and the runs
going on in other threads are killed too (`pandoc.pool`).

Memory is limited per tool: pandoc by its own runtime (`+RTS -M`), the
render by the process's data size, both PUBBUILD_MEMORY_LIMIT MiB (default
2048).

The clock stops (`stop`) once every output is complete, before they are
renamed into place: a build that runs out of time leaves the previous
outputs, never a mix of old and new.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from pubbuild.diagnostics import BuildError


class OutOfTime(BaseException):
    """Not an Exception: no library's `except Exception` may swallow it."""


def configured() -> tuple[float, int]:
    """(seconds, MiB): the whole build's time and each tool's memory."""
    try:
        seconds = float(os.environ.get("PUBBUILD_TIME_LIMIT", "300"))
        mib = int(os.environ.get("PUBBUILD_MEMORY_LIMIT", "2048"))
    except ValueError:
        seconds = mib = 0
    if not seconds > 0 or mib <= 0:
        raise BuildError("PUBBUILD_TIME_LIMIT and PUBBUILD_MEMORY_LIMIT must be "
                         "positive numbers (seconds, MiB)")
    return seconds, mib


_deadline: float | None = None
stage = ""  # what the build was doing, for the message


def start() -> None:
    """Start the clock for this command (once; later calls do nothing)."""
    global _deadline
    if _deadline is not None:
        return
    seconds = configured()[0]
    _deadline = time.monotonic() + seconds
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGALRM, _ring)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        sys.unraisablehook = _unraisable


def remaining() -> float:
    """Seconds left before the deadline, the timeout of a tool's run; with
    no clock started (the watcher's rebuilds) the whole limit. Raises
    OutOfTime once the deadline has passed."""
    if _deadline is None:
        return configured()[0]
    left = _deadline - time.monotonic()
    if left <= 0:
        raise OutOfTime
    return left


def for_child() -> dict[str, str]:
    """The environment of a build this one runs (verify, rebuild): its
    limit ends a moment before this one's, so that it stops its own
    children and reports, rather than being killed with them running."""
    return {"PUBBUILD_TIME_LIMIT": f"{max(remaining() - 2, 1):.1f}"}


def _ring(_signum, _frame) -> None:
    raise OutOfTime


# Where Python cannot pass an exception on (a fork's at-fork hooks, which
# subprocess runs in the parent; a __del__; a weakref callback), it prints
# it with a traceback and goes on. The alarm can ring there. So such an
# OutOfTime is not printed, and the alarm rings again a moment later, in
# code that can be interrupted.
_AGAIN = 0.05  # seconds


def _unraisable(report) -> None:
    if isinstance(report.exc_value, OutOfTime):
        if _deadline is not None:
            signal.setitimer(signal.ITIMER_REAL, _AGAIN)
        return
    sys.__unraisablehook__(report)


def stop() -> None:
    """Stop the clock: the outputs are complete and about to be renamed
    into place, which must not be interrupted halfway."""
    global _deadline
    if _deadline is not None and threading.current_thread() is threading.main_thread():
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.unraisablehook = sys.__unraisablehook__
    _deadline = None


def message() -> str:
    return (f"the build did not finish within {configured()[0]:g} s "
            "(PUBBUILD_TIME_LIMIT)" + (f"; it was at: {stage}" if stage else ""))


def expired(file=None) -> BuildError:
    """The error for a tool's run that reached the deadline (its child has
    been killed by then)."""
    return BuildError(message(), file)
