#!/usr/bin/env python3
"""Add every file's SHA-256 from PyPI to the pins in requirements.txt.

    python scripts/pin_hashes.py            rewrite requirements.txt in place
    python scripts/pin_hashes.py FILE       another one (bench/requirements.txt)

Each `name==version` line gets the hashes of all the files PyPI holds for
that release (wheels for every platform and the sdist), so that
`pip install --require-hashes -r requirements.txt` works on any machine and
installs exactly what was pinned. Run after changing a version; needs the
network (pypi.org), unlike the build. Reads PyPI's simple index, whose links carry each
file's hash.
"""

from __future__ import annotations

import re
import sys
import urllib.request
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)")


def hashes(name: str, version: str) -> list[str]:
    """From the simple index (PEP 503): every file of that release."""
    normal = re.sub(r"[-_.]+", "-", name).lower()
    url = f"https://pypi.org/simple/{normal}/"
    with urllib.request.urlopen(url, timeout=60) as response:
        page = response.read().decode("utf-8")
    found = set()
    for filename, digest in re.findall(
            r'href="[^"]*/([^/"#]+)#sha256=([0-9a-f]{64})"', page):
        if _version_of(filename) == version:
            found.add(digest)
    return sorted(found)


def _version_of(filename: str) -> str | None:
    if filename.endswith(".whl"):
        return filename.split("-")[1]
    for ext in (".tar.gz", ".zip", ".tar.bz2"):
        if filename.endswith(ext):
            return filename[: -len(ext)].rsplit("-", 1)[-1]
    return None


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REQUIREMENTS
    lines = target.read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.startswith("#")]
    pins = [PIN.match(line).groups() for line in lines if PIN.match(line)]
    out = comments[:]
    for name, version in pins:
        found = hashes(name, version)
        if not found:
            print(f"{name}=={version}: no files on PyPI", file=sys.stderr)
            return 1
        out.append(f"{name}=={version} \\")
        out += [f"    --hash=sha256:{digest} \\" for digest in found[:-1]]
        out.append(f"    --hash=sha256:{found[-1]}")
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"{len(pins)} pins, {sum(line.count('--hash') for line in out)} hashes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
