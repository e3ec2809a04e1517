"""The build's deadline (pubbuild/limits.py), in a child Python so that its
alarm and hooks do not touch the test process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import ROOT

# The alarm rings inside a __del__, where Python cannot raise: it would
# print "Exception ignored … Traceback" and go on. Subprocess's at-fork
# hooks are such a place too, which is how CI met it, but a fork cannot be
# timed to the alarm; __del__ is the same path (sys.unraisablehook).
RINGS_IN_DEL = textwrap.dedent("""
    import sys, time
    from pubbuild import limits

    class Busy:
        def __del__(self):
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                pass

    limits.start()
    busy = Busy()
    try:
        del busy  # the alarm (0.2 s) rings in here
        while True:  # and must ring again out here
            time.sleep(0.01)
    except limits.OutOfTime:
        print("stopped")
""")


def test_an_alarm_python_cannot_raise_rings_again_without_a_traceback():
    result = subprocess.run([sys.executable, "-c", RINGS_IN_DEL], cwd=ROOT,
                            env={"PUBBUILD_TIME_LIMIT": "0.2", "PATH": ""},
                            capture_output=True, text=True, timeout=60)
    assert result.stdout == "stopped\n"
    assert result.stderr == ""
    assert result.returncode == 0


def test_other_unraisable_exceptions_are_still_reported():
    code = RINGS_IN_DEL.replace("pass\n", "raise ValueError('kept')\n", 1)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                            env={"PUBBUILD_TIME_LIMIT": "0.2", "PATH": ""},
                            capture_output=True, text=True, timeout=60)
    assert "ValueError: kept" in result.stderr
    assert result.stdout == "stopped\n"
