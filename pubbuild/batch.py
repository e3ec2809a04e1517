"""Many manuscripts at once: a journal volume, each paper a build of its own.

`build.py batch` finds the manuscripts its arguments name (folders, files,
globs), gives each an output folder of its own, and builds them several at
a time, each in a worker process (pubbuild.batchworker) that builds paper
after paper the way `build.py --manuscript M --out O` does, after starting
once: Python, panflute and WeasyPrint imported once, not once a paper.
Processes rather than threads: the work is Python (filters, WeasyPrint),
so only processes run it in parallel; a paper whose build fails ends its
worker (the next paper gets a fresh one), and a worker killed by the
machine takes no other paper with it. Whether a build made something or
found it up to date, it says itself (its "Nothing to do" line); this
module never second-guesses its cache.

`plan` says the same jobs without building them, for an engine that runs
them elsewhere (CI matrix, GNU parallel over ssh): each with the command
that builds it and a key, a SHA-256 over everything its outputs can depend
on, so that an engine keeping outputs by key rebuilds exactly what changed.

This module must not know about pandoc's document, the filters or the
formats' writers: it starts builds, it does not make outputs.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from pubbuild import frontmatter, git
from pubbuild.diagnostics import BuildError, display_path
from pubbuild.outputs import DEFAULT
from pubbuild.paths import ROOT

# A folder's manuscript, in this order (Quarto's is index.md); else its only
# other .md file.
MANUSCRIPT_NAMES = ("paper.md", "index.md", "article.md")
# Never a folder's "only .md": a volume's README is not a paper.
NOT_MANUSCRIPTS = ("readme.md",)
GIB = 1024 ** 3
# What one build may need at its peak (WeasyPrint laying out a long paper,
# pandoc beside it), for the default number of jobs.
PER_JOB = GIB
UP_TO_DATE = "Nothing to do"  # the first word of an up-to-date build's line


@dataclass(frozen=True)
class Options:
    """What every job is built with, passed on to each child build."""

    format: str | None = None
    csl: str | None = None
    strict: bool = False
    debug: bool = False

    @property
    def formats(self) -> list[str]:
        return [self.format] if self.format else list(DEFAULT)

    def argv(self) -> list[str]:
        return ([*(["--csl", self.csl] if self.csl else []),
                 *(["--strict"] if self.strict else []),
                 *(["--debug"] if self.debug else []),
                 *([self.format] if self.format else [])])


@dataclass(frozen=True)
class Job:
    manuscript: Path  # resolved
    label: str        # as the user named it (the folder or the file)
    out: Path         # resolved: OUT/<name>/


@dataclass(frozen=True)
class Result:
    job: Job
    outcome: str      # "built", "up to date" or "failed"
    seconds: float
    error: str = ""   # the child's one-line error, when it failed


# -- which manuscripts ------------------------------------------------------

def manuscript_in(folder: Path) -> Path | None:
    """The manuscript a folder holds, if it holds one."""
    for name in MANUSCRIPT_NAMES:
        if (folder / name).is_file():
            return folder / name
    markdown = [path for path in folder.glob("*.md") if path.is_file()
                and not path.name.startswith(".")
                and path.name.lower() not in NOT_MANUSCRIPTS]
    return markdown[0] if len(markdown) == 1 else None


def discover(arguments: list[str]) -> list[tuple[Path, str]]:
    """(manuscript, label) for each manuscript the arguments name, in their
    order, each once. Globs are expanded here, so that a quoted one works
    (and the same on every shell)."""
    found: dict[Path, str] = {}
    for argument in arguments:
        for manuscript, label in _expand(argument):
            found.setdefault(manuscript.resolve(), label)
    return list(found.items())


def _expand(argument: str) -> list[tuple[Path, str]]:
    if not glob.has_magic(argument):
        path = Path(argument)
        if not path.exists():
            raise BuildError(f"error: {argument}: no such file or folder")
        return _entries(path, argument)
    matches = sorted(glob.glob(argument, recursive=True))
    if not matches:
        raise BuildError(f"error: {argument}: matches no file or folder")
    found = []
    for match in matches:
        path = Path(match)
        if path.is_file() and path.suffix != ".md":
            continue  # `vol/*` passes over a volume's other files
        found += _entries(path, match)
    if not found:
        raise BuildError(f"error: {argument}: matches no manuscript")
    return found


def _entries(path: Path, label: str) -> list[tuple[Path, str]]:
    """A file is a manuscript; a folder holds one, or is a volume whose
    subfolders (one level) hold one each."""
    if path.is_file():
        return [(path, label)]
    if path.is_dir():
        own = manuscript_in(path)
        if own is not None:
            return [(own, label)]
        members = []
        for sub in sorted(p for p in path.iterdir()
                          if p.is_dir() and not p.name.startswith(".")):
            manuscript = manuscript_in(sub)
            if manuscript is not None:
                members.append((manuscript, os.path.join(label, sub.name)))
        if members:
            return members
    raise BuildError(f"error: {label}: no manuscript in it "
                     f"({', '.join(MANUSCRIPT_NAMES)} or a single .md), "
                     "nor in its subfolders")


def names(manuscripts: list[Path]) -> list[str]:
    """Each manuscript's output folder name: its folder's name; where two
    clash, their folders' paths from the clashing folders' common parent,
    `/` as `-` (vol1/a and vol2/a: vol1-a, vol2-a)."""
    folders = [m.parent for m in manuscripts]
    count = Counter(folder.name for folder in folders)
    result = []
    for folder in folders:
        if count[folder.name] == 1:
            result.append(folder.name)
            continue
        clashing = [other for other in folders if other.name == folder.name]
        relative = folder.relative_to(os.path.commonpath(clashing)).as_posix()
        result.append(folder.name if relative == "." else relative.replace("/", "-"))
    # Two manuscripts of one folder: the file's stem tells them apart; then
    # a number, for whatever still clashes (a folder named vol1-a).
    count = Counter(result)
    result = [f"{name}-{m.stem}" if count[name] > 1 else name
              for name, m in zip(result, manuscripts, strict=True)]
    seen: Counter[str] = Counter()
    unique = []
    for name in result:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


def jobs(arguments: list[str], out: Path) -> list[Job]:
    found = discover(arguments)
    out = out.resolve()
    return [Job(manuscript, label, out / name) for (manuscript, label), name
            in zip(found, names([m for m, _ in found]), strict=True)]


# -- how many at once -------------------------------------------------------

def available_memory() -> int | None:
    """MemAvailable in bytes; None where /proc/meminfo cannot say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_jobs() -> tuple[int, str]:
    """(jobs, why): the usable cores, as many as fit in the available memory
    at PER_JOB each; at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    memory = available_memory()
    if memory is None:
        return max(cores, 1), f"{cores} cores"
    return (max(min(cores, memory // PER_JOB), 1),
            f"{cores} cores, {memory / GIB:.1f} GiB available")


# -- the plan: jobs and keys, nothing built ----------------------------------

def portable_command(job: Job, options: Options) -> list[str]:
    """The same build as a user would type it here: relative paths."""
    return ["python", display_path(ROOT / "build.py"), "--manuscript",
            display_path(job.manuscript), "--out", display_path(job.out),
            *options.argv()]


def plan(job_list: list[Job], options: Options) -> list[dict]:
    """One entry per job: manuscript, out, key, command."""
    shared = _shared_material(options)
    return [{"manuscript": display_path(job.manuscript),
             "out": display_path(job.out),
             "key": key(job, options, shared),
             "command": portable_command(job, options)} for job in job_list]


def _shared_material(options: Options) -> dict:
    """What every job's key holds: the pipeline files the formats depend on
    (as `pubbuild.cache` decides), the tools' versions, the date and
    commit a build is told from outside, the options."""
    from pubbuild import cache, manifest, pandoc

    pipeline = {name: _sha256(path) for name, path in manifest.pipeline_files().items()
                if any(cache.depends(fmt, name) for fmt in options.formats)}
    csl_file = Path(options.csl) if options.csl else None
    return {
        "pipeline": pipeline,
        "tools": manifest.tool_versions(pandoc.version()),
        "environment": {name: os.environ.get(name) for name in
                        ("SOURCE_DATE_EPOCH", "PUBBUILD_SOURCE_COMMIT")},
        "options": {"formats": options.formats, "csl": options.csl,
                    "csl_file": (_sha256(csl_file) if csl_file and csl_file.is_file()
                                 else None),
                    "strict": options.strict},
    }


def key(job: Job, options: Options, shared: dict) -> str:
    """SHA-256 over what the job's outputs can depend on: `shared`, every
    file of the manuscript's folder, the bibliographies and style its front
    matter names outside that folder, and the folder's git commit (the
    build records it, and dates the outputs by it without SOURCE_DATE_EPOCH).
    Not the output folder: the bytes are the same wherever they are built."""
    folder = job.manuscript.parent
    material = {
        **shared,
        "manuscript": job.manuscript.name,
        "files": _folder_files(folder, job.out.parent),
        "outside": _outside_files(job.manuscript),
        "git": None if shared["environment"]["PUBBUILD_SOURCE_COMMIT"]
        else _git_state(folder),
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_files(folder: Path, out_root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under `folder`, but dot-files,
    __pycache__ and the batch's own output folder (were it inside)."""
    found = {}
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and d != "__pycache__" and Path(top, d).resolve() != out_root)
        for name in sorted(files):
            path = Path(top, name)
            if not name.startswith(".") and path.is_file():
                found[path.relative_to(folder).as_posix()] = _sha256(path)
    return found


def _outside_files(manuscript: Path) -> dict[str, str]:
    """The front matter's `bibliography:` and `csl:` files that are not in
    the manuscript's folder (the project's article keeps them in bib/),
    named relative to that folder. Read without pandoc: the plan is fast."""
    try:
        meta = frontmatter.fields(manuscript.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}  # the build will say what is wrong with it
    found = {}
    named = frontmatter.files(meta, "bibliography") + frontmatter.files(meta, "csl")
    for name in named:
        path = (manuscript.parent / name).resolve()
        if path.is_file() and not path.is_relative_to(manuscript.parent):
            found[os.path.relpath(path, manuscript.parent)] = _sha256(path)
    return found


def _git_state(folder: Path) -> str | None:
    """The last commit that touched the folder, and whether it differs from
    it; None outside git (then nothing git says can reach the outputs)."""
    head = git.output(["log", "-1", "--format=%H %ct", "--", "."], folder)
    if not head:
        return None
    changed = git.output(["status", "--porcelain", "--", "."], folder)
    return head + (" +modified" if changed else "")


# -- the run -----------------------------------------------------------------

def build(job_list: list[Job], options: Options, workers: int,
          report: Callable[[int, int, Result], None]) -> list[Result]:
    """Build every job, `workers` at a time, each pool thread handing its
    jobs to a warm worker process of its own (pubbuild.batchworker);
    `report(done, total, result)` as each ends. Results in job order.

    Ctrl-C (KeyboardInterrupt here) kills the workers, starts no other job,
    and goes on up."""
    lock = threading.Lock()
    running: set[subprocess.Popen] = set()
    stopping = threading.Event()
    mine = threading.local()  # .worker: this thread's worker process, if any

    def worker() -> subprocess.Popen:
        process = getattr(mine, "worker", None)
        if process is None or process.poll() is not None:
            process = subprocess.Popen(
                [sys.executable, "-m", "pubbuild.batchworker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env=_worker_env(), text=True,
                encoding="utf-8")
            with lock:
                running.add(process)
            mine.worker = process
        return process

    def retire(process: subprocess.Popen) -> int:
        mine.worker = None
        try:
            process.stdin.close()
            returncode = process.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            returncode = process.wait()
        with lock:
            running.discard(process)
        return returncode

    def one(job: Job) -> Result | None:
        if stopping.is_set():
            return None
        started = time.perf_counter()
        process = worker()
        request = {"manuscript": str(job.manuscript), "out": str(job.out),
                   "format": options.format, "csl": options.csl,
                   "strict": options.strict, "debug": options.debug}
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            answer = process.stdout.readline()
        except OSError:
            answer = ""
        seconds = time.perf_counter() - started
        if stopping.is_set():
            return None
        if not answer:  # the worker died under this paper
            return outcome(job, retire(process) or -signal.SIGKILL, "", seconds)
        said = json.loads(answer)
        if said["status"] != 0:
            retire(process)  # it ends after a failure; the next job gets a new one
        return outcome(job, said["status"], said["stderr"], seconds)

    results: list[Result | None] = [None] * len(job_list)
    with ThreadPoolExecutor(max_workers=workers,
                            thread_name_prefix="batch") as pool:
        futures = {pool.submit(one, job): index for index, job in enumerate(job_list)}
        try:
            for done, future in enumerate(as_completed(futures), 1):
                result = future.result()
                results[futures[future]] = result
                if result is not None:
                    report(done, len(job_list), result)
        except BaseException:
            stopping.set()
            _kill(lock, running)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    _kill(lock, running)  # the idle workers: their work is done
    return [result for result in results if result is not None]


def _kill(lock: threading.Lock, running: set) -> None:
    with lock:
        for process in running:
            if process.poll() is None:
                process.kill()
        for process in running:
            process.wait()
        running.clear()


def _worker_env() -> dict[str, str]:
    """The batch's environment, with the project importable from any
    working directory (the worker runs in the batch's, as a build would)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def outcome(job: Job, returncode: int, stderr: str, seconds: float) -> Result:
    """What a child build's exit and stderr say: built, up to date, or
    failed with its one-line error (its last line)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    if returncode == 0:
        fresh = any(line.startswith(UP_TO_DATE) for line in lines)
        return Result(job, "up to date" if fresh else "built", seconds)
    if returncode < 0:
        error = f"the build was killed by {_signal_name(-returncode)}"
    else:
        error = lines[-1] if lines else f"exit status {returncode}, and no message"
    return Result(job, "failed", seconds, error)


def _signal_name(number: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    return {"SIGKILL": "SIGKILL (perhaps for memory)"}.get(name, name)


# -- what the user reads -----------------------------------------------------

def progress_line(done: int, total: int, result: Result) -> str:
    word = "FAILED" if result.outcome == "failed" else result.outcome
    line = f"[{done}/{total}] {word:<11} {result.job.label}  {result.seconds:.1f} s"
    return f"{line}  {result.error}" if result.error else line


def table(results: list[Result]) -> list[str]:
    """One row per manuscript: label, result, time, output folder or error."""
    rows = [("manuscript", "result", "time", "output or error")]
    rows += [(r.job.label, r.outcome, f"{r.seconds:.1f} s",
              r.error or display_path(r.job.out)) for r in results]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return [f"{label:<{widths[0]}}  {what:<{widths[1]}}  {when:>{widths[2]}}  {rest}"
            for label, what, when, rest in rows]


def totals(results: list[Result], seconds: float, workers: int) -> str:
    count = Counter(result.outcome for result in results)
    noun = "manuscript" if len(results) == 1 else "manuscripts"
    return (f"{len(results)} {noun}: {count['built']} built, "
            f"{count['up to date']} up to date, {count['failed']} failed "
            f"in {seconds:.1f} s ({workers} {'job' if workers == 1 else 'jobs'})")
