"""Writing outputs: whole files or none, one build per folder at a time.

Every command writes through `write_all`: each file is written beside its
target under a temporary name, and only when all of them are complete are
they renamed into place, so a reader never sees half a file and a failed
build (a full disk, the deadline, Ctrl-C) leaves the previous outputs.

This module must not know what the files are.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from pathlib import Path

from pubbuild import limits
from pubbuild.diagnostics import BuildError

TEMPORARY = ".pubbuild-tmp-"  # the names files have until they are complete


def write_all(files: dict[Path, bytes]) -> None:
    """Write every file beside its target, then rename them all into place.

    A reader never sees half a file, and a build that fails while writing
    (a full disk, a folder it may not write to) leaves every previous output
    as it was. Builds into the same folder take turns (a lock), and what a
    killed build left behind is cleared first.
    """
    folders = sorted({path.parent for path in files})
    try:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"cannot create the output folder: {exc.strerror}",
                         exc.filename) from None
    with _folder_lock(folders[0]):
        for folder in folders:
            for stale in folder.glob(f".*{TEMPORARY}*"):
                stale.unlink(missing_ok=True)
        written: dict[Path, str] = {}
        target = folders[0]  # the file being written, for the message
        try:
            for path, data in files.items():
                target = path.parent  # a folder that takes no new file
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMPORARY}",
                                           dir=path.parent)
                target = path  # a file that does not fit (a full disk)
                written[path] = tmp
                with os.fdopen(fd, "wb") as stream:
                    stream.write(data)
                os.chmod(tmp, 0o644)
            limits.stop()  # every file is whole: the renames go through
        except BaseException as exc:  # a full disk, or the deadline
            for tmp in written.values():
                Path(tmp).unlink(missing_ok=True)
            if not isinstance(exc, OSError):
                raise
            raise BuildError(f"cannot write: {exc.strerror or exc}; the previous "
                             "outputs are unchanged", target) from None
        # The renames take a moment; Ctrl-C or a TERM waits until they are
        # all done, so the folder never holds a mix of old and new.
        deferred = {signal.SIGINT, signal.SIGTERM}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, deferred)
        try:
            for path, tmp in written.items():
                os.replace(tmp, path)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """An exclusive lock per output folder, kept outside it (in the temp
    folder) so that the folder holds only the outputs."""
    import fcntl
    import hashlib

    name = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"pubbuild-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
