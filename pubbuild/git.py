"""Git, asked about a manuscript's repository, which may be someone else's.

A journal builds repositories it did not write, so their `.git/config` is
not trusted. A repository can name programs there that git runs on its
own: `core.fsmonitor` on `git status`, `gpg.program` when `git log` shows
signatures (`log.showSignature`). Every call here turns both off, reads
neither the system's nor the user's config (only `user_config=True` reads
~/.gitconfig, for a diff's author), takes no optional locks (`git status`
would otherwise rewrite the index, a write into the manuscript's
repository) and never prompts.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pubbuild import children

_SAFE = ["-c", "core.fsmonitor=false", "-c", "log.showSignature=false",
         "-c", "core.pager=cat"]
_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_OPTIONAL_LOCKS": "0",
        "GIT_TERMINAL_PROMPT": "0"}


def output(args: list[str], cwd: Path, *, binary: bool = False,
           user_config: bool = False) -> str | bytes | None:
    """What `git ARGS` prints in `cwd` (stripped text, or bytes), or None
    when git is missing, fails or takes over a minute."""
    env = {**os.environ, **_ENV}
    if not user_config:
        env["GIT_CONFIG_GLOBAL"] = os.devnull
    try:
        proc = children.run(["git", *_SAFE, *args], cwd=cwd, capture_output=True,
                            timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout if binary else proc.stdout.decode("utf-8", "replace").strip()
