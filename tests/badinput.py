"""Helpers of the bad-input tests (tests/test_bad_*.py), not a test file.

A small project, the check and the build run under strace (nothing outside
the project may be opened), the one error line a bad case must produce,
and the pathological inputs that bench/pathological.py measures too."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import GOOD_BIB, ROOT, program, run_build


def project(tmp_path: Path, body: str = "Text ([Vu, 2021](#)).\n",
            bib: str | bytes = GOOD_BIB) -> Path:
    (tmp_path / "refs.bib").write_bytes(bib if isinstance(bib, bytes)
                                        else bib.encode())
    manuscript = tmp_path / "paper.md"
    manuscript.write_text(
        f"---\ntitle: T\nbibliography: refs.bib\ncsl: {ROOT / 'bib' / 'apa.csl'}\n"
        f"---\n\n{body}", encoding="utf-8")
    return manuscript


# -- every build here is traced: nothing outside may be opened --------------
# What any process of a build (Python, pandoc, git, fontconfig, the library
# lookups) may open besides the project, the manuscript's folder, the output
# folder, Python's installation and its own temporary folder: the system's
# libraries and locales, and a few fixed system files.
SYSTEM_PREFIXES = (
    "/proc/", "/sys/", "/dev/",
    # the libraries (and the compiler and linker ctypes.util.find_library
    # runs to find them), the locales
    "/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/etc/ld.so.", "/usr/share/locale/",
    # the descriptions fontconfig lists at start-up, applying none
    "/usr/share/fontconfig/conf.avail")


SYSTEM_FILES = {"/etc/localtime", "/etc/passwd", "/etc/nsswitch.conf",
                "/etc/mime.types"}


def traced(args: list[str], *, folders: tuple[Path, ...], cwd: Path,
           env: dict | None = None, script: Path | None = None, preexec=None):
    """Run build.py ARGS under strace, with a private temporary folder;
    return the result, what was opened outside, and the trace."""
    import shutil
    import sys
    import tempfile

    strace = program("strace", "to trace what the build's processes open", "strace")
    private = Path(tempfile.mkdtemp(prefix="traced-"))
    try:
        log = private / "trace.log"
        (private / "tmp").mkdir()
        result = run_build(*args, cwd=cwd, script=script, preexec=preexec,
                           env={**(env or {}), "TMPDIR": str(private / "tmp")},
                           wrapper=(strace, "-f", "-qq", "--seccomp-bpf", "-o",
                                    str(log), "-e", "trace=open,openat,execve,connect"))
        trace = log.read_text()
    finally:
        shutil.rmtree(private, ignore_errors=True)
    root = (script or ROOT / "build.py").parent
    allowed = tuple(f"{place}/" for place in (root, *folders, private, sys.prefix,
                                              sys.base_prefix)) + SYSTEM_PREFIXES
    exact = SYSTEM_FILES | {str(place) for folder in (root, *folders)
                            for place in (folder, *folder.parents)}
    opened = set(re.findall(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]+)".*\) = \d', trace))
    # A relative path is relative to a process's working folder: the
    # build's, or the repository git works in; it may not climb out of it.
    outside = sorted(path for path in opened if path not in exact and (
        ".." in Path(path).parts if not path.startswith("/")
        else not path.startswith(allowed)))
    return result, outside, trace


def check(manuscript: Path):
    result, outside, _ = traced(["check", "--manuscript", str(manuscript)],
                                folders=(manuscript.parent,), cwd=manuscript.parent)
    assert outside == []
    return result


def one_error_line(result) -> str:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    print(f"error line: {lines[0]}")  # `pytest -rP` lists what each case printed
    return lines[0]


# -- the build (python build.py [FORMAT]) ------------------------------------

def build(manuscript: Path, out: Path, *args: str, cwd: Path | None = None,
          script: Path | None = None, env: dict | None = None, preexec=None,
          trace: bool = True):
    """Build, traced: nothing outside may be opened (`trace=False` only
    where a resource limit would stop strace itself)."""
    # -q: progress lines off, so stderr holds only what went wrong.
    command = ["-q", *args, "--manuscript", str(manuscript), "--out", str(out)]
    if not trace:
        return run_build(*command, cwd=cwd or manuscript.parent, env=env,
                         script=script, preexec=preexec)
    result, outside, _ = traced(command, folders=(manuscript.parent, out),
                                cwd=cwd or manuscript.parent, env=env, script=script,
                                preexec=preexec)
    assert outside == []
    return result


N = 10_000


def _reference_collisions(count: int) -> str:
    """cmark's "reference collisions": link labels that all land in one
    bucket of cmark's reference map (its hash, modulo its 16 buckets)."""
    import itertools

    def bucket(label: str) -> int:
        value = 0
        for char in label:
            value = (ord(char) + ((value << 6) & 0xFFFFFFFF)
                     + ((value << 16) & 0xFFFFFFFF) - value) & 0xFFFFFFFF
        return value % 16

    labels = (f"x{i}" for i in itertools.count())
    first, *others = itertools.islice(
        (label for label in labels if bucket(label) == 0), count)
    return "".join(f"[{label}]: /url\n\n[{first}]\n\n" for label in others)


def _billion_laughs(fan: int, depth: int) -> str:
    """A YAML metadata block whose aliases repeat fan**depth strings."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * fan)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]"
              for i in range(1, depth)]
    return "---\n" + "\n".join(lines) + "\n...\n"


# cmark's pathological inputs (test/pathological_tests.py, every one), which
# have made Markdown parsers take quadratic or exponential time or blow
# their stacks, at N = 10,000, then pandoc's extensions pushed the same way.
# The lists nest 1,000 deep as in cmark (N deep by indentation would be
# 100 MB; "nested lists on one line" is N deep); "backticks" is 50 MB.
PATHOLOGICAL = {
    "nested strong emph": ("*a **a " * N) + "b" + (" a** a*" * N),
    "many emph closers with no openers": "a_ " * N,
    "many emph openers with no closers": "_a " * N,
    "many link closers with no openers": "a]" * N,
    "many link openers with no closers": "[a" * N,
    "mismatched openers and closers": "*a_ " * N,
    "openers and closers multiple of 3": "a**b" + ("c* " * N),
    "link openers and emph closers": "[ a_" * N,
    "pattern [ (]( repeated": "[ (](" * N,
    "pattern ![[]() repeated": "![[]()" * N,
    "hard link/emph case": "**x [a*b**c*](d)",
    "nested brackets": "[" * N + "a" + "]" * N,
    "nested block quotes": "> " * N + "a",
    "deeply nested lists": "".join("  " * i + "* a\n" for i in range(1000)),
    "U+0000 in input": "abc\u0000de\u0000",
    "backticks": "".join("e" + "`" * i for i in range(1, N)),
    "unclosed links A": "[a](<b" * N,
    "unclosed links B": "[a](b" * N,
    "unclosed <!--": "</" + "<!--" * N,
    "unclosed <?": "x " + "<?" * N,
    "unclosed <!X": "x " + "<!A " * N,
    "unclosed <![CDATA[": "x " + "<![CDATA[" * N,
    "many references": "".join(f"[{i}]: /url\n" for i in range(N)) + "[0] " * N,
    "reference collisions": _reference_collisions(N),
    "nested lists on one line": "- " * N + "a",
    "nested spans": "[" * N + "a" + "]{.x}" * N,
    "nested notes": "^[" * N + "a" + "]" * N,
    "unclosed <span>s": "x " + "<span>" * N + "a",
    "nested raw HTML": "<div>" * N + "a" + "</div>" * N,
    "nested fenced divs": "::: x\n" * N + "a\n" + ":::\n" * N,
    "many citations": "[@vu2021] " * N,
    "entities and escapes": "&amp;\\*&#35;&#x41;" * N,
    "capitals without a space": "A" * (2 * N),
    "YAML aliases (billion laughs)": _billion_laughs(9, 9),
}
