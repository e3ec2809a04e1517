#!/usr/bin/env python3
"""The build's speed, measured side by side: medians over repeated runs.

    python -m bench.bench                 everything (about ten minutes)
    python -m bench.bench --runs 3        fewer runs
    python -m bench.bench --only core     one part: core, scaling, batch

(From the project's folder, as a module: it imports the build's own
filter order and modules. The Typst peer needs `pip install -r
bench/requirements.txt`; without it those lines say so.)

Prints a table and writes it to bench/results.md with the machine noted.
The core measurements run in rounds, one run of each per round, so that
a machine getting busier or quieter shows in all of them alike:

  H   our cold build of the HTML alone (`python build.py html`)
  PH  peer: `pandoc --citeproc -s --embed-resources` -> HTML
  A   our cold build of PDF + HTML + EPUB (`python build.py`, empty output)
  PF  peer: that pandoc HTML, pandoc -> Typst -> PDF, and pandoc's EPUB
  P   our cold build of the PDF alone
  PT  peer: pandoc -> .typ, compiled by Typst (its Python binding)
  B   the pipeline one writes by hand: pandoc per format with the filters as
      `--filter` subprocesses, then the `weasyprint` command
  C   WeasyPrint alone (its command) rendering our final print HTML
  D   a no-op rebuild (`python build.py` with nothing changed)
  E   `build.py watch`, one paragraph edited: from the save until the page's
      long poll is answered (and the HTML build's own time within it)
  ×1, ×4, ×16, ×64  the manuscript made longer (sections repeated, each
      copy citing its own copies of the entries): time and peak memory
  V   a volume of 20 manuscripts (the test manuscripts, copied round):
      `build.py batch` against the same 20 builds one after another

The peers read the same words and citations: the article after our
filters that come before citeproc, written back as pandoc Markdown (its
citations as `[@key]`), with its keywords left out (pandoc 3.9's Typst
template writes them unquoted, which Typst refuses).

Every run is a fresh process (E: a warm watcher, as an author uses it).
Peak memory is the largest resident set of the build and the processes it
waits for (getrusage of the children). This is not a test: nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import filters
from pubbuild.paths import ROOT

PYTHON = sys.executable
BIN = Path(PYTHON).parent


def timed(command: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run, in a fresh wrapper process
    so that getrusage(RUSAGE_CHILDREN) covers this run alone."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,"
        " stderr=subprocess.PIPE)\n"
        "d = time.perf_counter() - t\n"
        "if r.returncode: sys.stderr.write(r.stderr.decode()); sys.exit(1)\n"
        "print(d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    proc = subprocess.run([PYTHON, "-c", probe, *command], cwd=cwd,
                          capture_output=True, text=True, env=env or os.environ.copy())
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{proc.stderr}")
    seconds, peak = proc.stdout.split()
    return float(seconds), int(peak)


def cold_build(manuscript: Path, tmp: Path, env: dict, fmt: str | None = None):
    def run():
        out = Path(tempfile.mkdtemp(dir=tmp))
        return timed([PYTHON, str(ROOT / "build.py"), "-q", "--manuscript",
                      str(manuscript), "--out", str(out), *([fmt] if fmt else [])],
                     ROOT, env)
    return run


def by_hand(tmp: Path, env: dict):
    """B: what one writes without this tool, with the same filters."""
    manuscript = ROOT / "manuscript" / "article.md"
    pandoc = _pandoc()
    # The build's own order (filters.PIPELINE), citeproc in its place.
    chain = []
    for name in filters.NAMES:
        chain += (["--citeproc"] if name == filters.CITEPROC else
                  ["--filter", str(ROOT / "filters" / f"{name}.py")])
    common = [str(manuscript), "-f", "markdown-smart", *chain, "-M",
              "link-citations=true", "-M", "reference-section-title=References"]

    def run():
        out = Path(tempfile.mkdtemp(dir=tmp))
        script = " && ".join([
            _quote([pandoc, *common, "-s", "--template",
                    str(ROOT / "templates/article.html"), "--mathml", "--toc",
                    "-o", str(out / "a.html")]),
            _quote([pandoc, *common, "-t", "epub3", "--template",
                    str(ROOT / "templates/epub.xhtml"), "-o", str(out / "a.epub")]),
            _quote([pandoc, *common, "-s", "--template",
                    str(ROOT / "templates/print.html"), "-o", str(out / "p.html")]),
            _quote([str(BIN / "weasyprint"), str(out / "p.html"), str(out / "a.pdf"),
                    "-s", str(ROOT / "styles/print.css"), "--pdf-tags",
                    "--pdf-variant", "pdf/ua-1"]),
        ])
        return timed(["bash", "-c", script], manuscript.parent, env)
    return run


def weasyprint_alone(tmp: Path, env: dict):
    """C: our final print HTML, rendered by the weasyprint command."""
    from pubbuild import clock, formats, pdf, pipeline

    source = pipeline.read(ROOT / "manuscript" / "article.md")
    doc = pipeline.run_filters(source)
    job = formats.Job(source.path, "article", source.reporter,
                      clock.build_time([source.path]).moment)
    page = tmp / "print.html"
    page.write_text(formats.print_html(doc, job), encoding="utf-8")
    fonts = {**env, "FONTCONFIG_FILE": str(pdf.fontconfig_file())}

    def run():
        # The same PDF options our build uses: tagged, PDF/UA-1.
        return timed([str(BIN / "weasyprint"), str(page), str(tmp / "c.pdf"), "-s",
                      str(ROOT / "styles/print.css"), "--pdf-tags",
                      "--pdf-variant", "pdf/ua-1"], tmp, fonts)
    return run


def no_op(tmp: Path, env: dict):
    out = tmp / "noop"
    subprocess.run([PYTHON, str(ROOT / "build.py"), "-q", "--out", str(out)],
                   check=True, env=env)

    def run():
        return timed([PYTHON, str(ROOT / "build.py"), "-q", "--out", str(out)],
                     ROOT, env)
    return run


def watcher_refresh(tmp: Path, env: dict, runs: int) -> tuple[list[float], list[float]]:
    """E: a warm watcher, one paragraph edited `runs` times: the seconds
    from the save to the page's long poll being answered (what the author
    waits for), and the HTML build's own seconds as the watcher reports them."""
    import json
    import threading
    import urllib.request

    project = tmp / "watched"
    for name in ("manuscript/article.md", "bib/references.bib", "bib/apa.csl"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, project / name)
    manuscript = project / "manuscript" / "article.md"
    log = tmp / "watch.log"
    with open(log, "w") as stream:
        watcher = subprocess.Popen(
            [PYTHON, str(ROOT / "build.py"), "watch", "--port", "0", "--manuscript",
             str(manuscript), "--out", str(tmp / "watched-out")],
            stderr=stream, env=env)
    shown = []
    try:
        _wait_lines(log, "PDF and EPUB updated", 1)
        port = re.search(r"http://127\.0\.0\.1:(\d+)/", log.read_text())[1]
        state = f"http://127.0.0.1:{port}/__pubbuild/state"
        text = manuscript.read_text(encoding="utf-8")
        for n in range(runs):
            with urllib.request.urlopen(state, timeout=30) as response:
                version = json.load(response)["version"]
            answered = []

            def page(version=version, answered=answered):
                with urllib.request.urlopen(f"{state}?after={version}",
                                            timeout=60) as response:
                    response.read()
                answered.append(time.perf_counter())

            waiting = threading.Thread(target=page)
            waiting.start()
            time.sleep(0.5)  # the page is waiting, as a browser's would be
            edited = text.replace("For critical investigation",
                                  f"For a critical investigation ({n})", 1)
            saved = time.perf_counter()
            manuscript.write_text(edited, encoding="utf-8")
            waiting.join(60)
            shown.append(answered[0] - saved)
            _wait_lines(log, "PDF and EPUB updated", n + 2)
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)
    found = re.findall(r"HTML updated \(([\d.]+) s\)", log.read_text())
    return shown, [float(x) for x in found[1:]]


def _wait_lines(log: Path, text: str, count: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.read_text().count(text) >= count:
            return
        time.sleep(0.05)
    raise SystemExit(f"the watcher did not report {text!r} {count} times:\n"
                     + log.read_text()[-2000:])


def longer(times: int, tmp: Path) -> Path:
    """The article `times` as long: copy k of the body cites copy k of each
    entry (family names suffixed), so every citation still resolves."""
    text = (ROOT / "manuscript" / "article.md").read_text(encoding="utf-8")
    bib = (ROOT / "bib" / "references.bib").read_text(encoding="utf-8")
    front, body = text.split("\n---\n", 1)
    # The authors' one misspelt name would match every copy of Bremner.
    body = body.replace("Bremer, 2019", "Bremner, 2019")
    families = _families(bib)
    bodies, bibs = [body], [bib]
    for k in range(2, times + 1):
        mark = f"-{_letters(k - 1)}"  # -B, -C, … -BA: names hold no digits
        copy = body
        for family in families:
            copy = re.sub(rf"\b{re.escape(family)}\b", family + mark, copy)
        bodies.append(copy)
        bibs.append(_bib_copy(bib, families, mark))
    folder = tmp / f"x{times}"
    (folder / "manuscript").mkdir(parents=True)
    (folder / "bib").mkdir()
    shutil.copy2(ROOT / "bib" / "apa.csl", folder / "bib" / "apa.csl")
    (folder / "bib" / "references.bib").write_text("\n".join(bibs), encoding="utf-8")
    manuscript = folder / "manuscript" / "article.md"
    manuscript.write_text(front + "\n---\n" + "\n".join(bodies), encoding="utf-8")
    return manuscript


def _letters(n: int) -> str:
    """1 -> B, 25 -> Z, 26 -> BA: a number written in letters."""
    letters = ""
    while True:
        letters = chr(ord("A") + n % 26) + letters
        n //= 26
        if n == 0:
            return letters


def _families(bib: str) -> list[str]:
    names = set()
    for field in re.findall(r"author\s*=\s*\{(.*?)\},\n", bib, re.S):
        for person in re.split(r"\s+and\s+", field):
            family = person.split(",")[0].strip().strip("{}")
            if family and family[0].isupper() and " " not in family:
                names.add(family)
    return sorted(names, key=len, reverse=True)


def _bib_copy(bib: str, families: list[str], mark: str) -> str:
    def entry(match):
        head, key, rest = match.group(1), match.group(2), match.group(3)
        def author(field):
            value = field.group(0)
            for family in families:
                value = re.sub(rf"\b{re.escape(family)}\b", family + mark, value)
            return value
        rest = re.sub(r"author\s*=\s*\{.*?\},\n", author, rest, flags=re.S)
        return f"{head}{key}{mark.replace('-', 'x')},{rest}"
    return re.sub(r"(@\w+\{)([^,]+),(.*?)(?=\n@|\Z)", entry, bib, flags=re.S)


def _pandoc() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def _quote(args: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in args)




# -- the field's floor: pandoc alone, and pandoc -> Typst ----------------------

TYPST = ("import sys, typst; typst.compile(sys.argv[1], output=sys.argv[2], "
         "ignore_system_fonts=True)")


def peer_manuscript(tmp: Path) -> Path:
    """The article's words and citations as plain pandoc Markdown: after
    our filters that come before citeproc, written back by pandoc."""
    from pubbuild import pandoc, pipeline

    source = pipeline.read(ROOT / "manuscript" / "article.md")
    doc = pipeline.run_filters(source, through_citeproc=False)
    if "keywords" in doc.metadata:  # pandoc's Typst template breaks on them
        del doc.metadata["keywords"]
    text, _ = pandoc.run(["--from", "json", "--to", "markdown", "--standalone"],
                         pandoc.to_json(doc))
    folder = tmp / "peer"
    folder.mkdir()
    path = folder / "article.md"
    path.write_text(text, encoding="utf-8")
    return path


def typst_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("typst") is not None


def peer(manuscript: Path, tmp: Path, env: dict, what: tuple[str, ...]):
    """Plain pandoc (and Typst) making `what`: html, pdf, epub, in series."""
    pandoc = _pandoc()
    name = manuscript.name

    def run():
        out = Path(tempfile.mkdtemp(dir=tmp))
        steps = []
        if "html" in what:
            steps.append([pandoc, name, "--citeproc", "-s", "--embed-resources",
                          "-o", str(out / "a.html")])
        if "pdf" in what:
            steps += [[pandoc, name, "--citeproc", "-s", "-t", "typst",
                       "-o", str(out / "a.typ")],
                      [PYTHON, "-c", TYPST, str(out / "a.typ"), str(out / "a.pdf")]]
        if "epub" in what:
            steps.append([pandoc, name, "--citeproc", "-t", "epub3",
                          "-o", str(out / "a.epub")])
        script = " && ".join(_quote(step) for step in steps)
        return timed(["bash", "-c", script], manuscript.parent, env)
    return run


# -- a volume: batch against one build after another -------------------------

VOLUME = 20


def volume(tmp: Path) -> Path:
    """VOLUME manuscripts, each in its own folder with its bibliography:
    the test manuscripts, copied round."""
    sources = sorted(path for path in (ROOT / "tests" / "manuscripts").iterdir()
                     if (path / "paper.md").is_file() or (path / "index.md").is_file())
    folder = tmp / "volume"
    for n in range(VOLUME):
        source = sources[n % len(sources)]
        shutil.copytree(source, folder / f"m{n + 1:02d}-{source.name}")
    return folder


def batch_build(folder: Path, tmp: Path, env: dict, jobs: int | None = None):
    def run():
        out = Path(tempfile.mkdtemp(dir=tmp))
        return timed([PYTHON, str(ROOT / "build.py"), "batch", "-q", str(folder),
                      "--out", str(out), *(["--jobs", str(jobs)] if jobs else [])],
                     ROOT, env)
    return run


def one_after_another(folder: Path, tmp: Path, env: dict):
    def run():
        out = Path(tempfile.mkdtemp(dir=tmp))
        commands = []
        for paper in sorted(folder.glob("*/*.md")):
            if paper.name in ("paper.md", "index.md"):
                commands.append(_quote([
                    PYTHON, str(ROOT / "build.py"), "-q", "--manuscript", str(paper),
                    "--out", str(out / paper.parent.name)]))
        return timed(["bash", "-c", " && ".join(commands)], ROOT, env)
    return run


# -- the report ----------------------------------------------------------------

def rounds(runs: int, measures: dict) -> dict:
    """Each measurement once per round, in the same order, `runs` rounds:
    (median, peak KiB, times) per name."""
    results = {name: [] for name in measures}
    for _ in range(runs):
        for name, run in measures.items():
            results[name].append(run())
    return {name: (statistics.median(t for t, _ in found),
                   max(p for _, p in found), [t for t, _ in found])
            for name, found in results.items()}


CORE = {
    "H": "H  our cold build, HTML only",
    "PH": "PH peer: pandoc --citeproc -s --embed-resources → HTML",
    "A": "A  our cold build (PDF + HTML + EPUB)",
    "PF": "PF peer: pandoc HTML + pandoc → Typst PDF + pandoc EPUB",
    "P": "P  our cold build, PDF only",
    "PT": "PT peer: pandoc → .typ → Typst PDF",
    "B": "B  by hand: pandoc ×3 with --filter, weasyprint",
    "C": "C  WeasyPrint alone on our print HTML",
    "D": "D  no-op rebuild",
}


def _row(label: str, result) -> str:
    median, peak, times = result
    memory = f"{peak / 1024:.0f} MiB" if peak else ""
    return (f"| {label} | {median:.2f} s | "
            f"{', '.join(f'{t:.2f}' for t in times)} | {memory} |")


def _ratio(results: dict, top: str, bottom: str) -> str:
    if top not in results or bottom not in results:
        return "not measured"
    return f"{results[top][0] / results[bottom][0]:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of the core "
                        "measurements (longer manuscripts and the volume: fewer)")
    parser.add_argument("--only", default="core,scaling,batch",
                        help="comma-separated parts: core, scaling, batch")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    article = ROOT / "manuscript" / "article.md"
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}; {dt.date.today().isoformat()}. "
        f"Core: medians of {args.runs} rounds, each round one run of every "
        "measurement in turn; peak memory is the largest process's resident set.",
    ]
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="pubbuild-bench-") as name:
        tmp = Path(name)
        if "core" in parts:
            plain = peer_manuscript(tmp)
            measures = {"H": cold_build(article, tmp, env, "html"),
                        "PH": peer(plain, tmp, env, ("html",)),
                        "A": cold_build(article, tmp, env),
                        "P": cold_build(article, tmp, env, "pdf")}
            if typst_installed():
                measures["PF"] = peer(plain, tmp, env, ("html", "pdf", "epub"))
                measures["PT"] = peer(plain, tmp, env, ("pdf",))
            measures |= {"B": by_hand(tmp, env), "C": weasyprint_alone(tmp, env),
                         "D": no_op(tmp, env)}
            results |= rounds(args.runs, measures)
            e, built = watcher_refresh(tmp, env, args.runs)
            results["E"] = (statistics.median(e), 0, e)
            results["EB"] = (statistics.median(built), 0, built)
            lines += ["", "| measurement | median | runs (s) | peak memory |",
                      "|---|---|---|---|"]
            for key, label in CORE.items():
                if key in results:
                    lines.append(_row(label, results[key]))
            if not typst_installed():
                lines.append("| PF, PT (Typst) | not measured: pip install -r "
                             "bench/requirements.txt | | |")
            lines.append(_row("E  watch: save → the page told to reload",
                              results["E"]))
            lines.append(_row("   of which the HTML build (the watcher's own "
                              "figure)", results["EB"]))
            lines += ["", f"H/PH = {_ratio(results, 'H', 'PH')} (target ≤ 2.0); "
                      f"A/PF = {_ratio(results, 'A', 'PF')}; "
                      f"P/PT = {_ratio(results, 'P', 'PT')}; "
                      f"A/C = {_ratio(results, 'A', 'C')} (target ≤ 1.3); "
                      f"B/A = {_ratio(results, 'B', 'A')}; "
                      f"D = {results['D'][0]:.2f} s (target ≤ 0.15 s); "
                      f"E = {results['E'][0]:.2f} s (target ≤ 0.3 s)"]
            _report(lines)
        if "scaling" in parts:
            lines += ["", "| length | median | runs (s) | peak memory | time / ×1 |",
                      "|---|---|---|---|---|"]
            scaling = []
            # The build's own 300 s limit is for untrusted manuscripts; ×64
            # takes longer than that here.
            long_env = {**env, "PUBBUILD_TIME_LIMIT": "3600",
                        "PUBBUILD_MEMORY_LIMIT": "8192"}
            for times in (1, 4, 16, 64):
                manuscript = article if times == 1 else longer(times, tmp)
                runs = {1: args.runs, 4: max(2, args.runs // 2), 16: 2, 64: 1}[times]
                scaling.append((times, rounds(runs, {
                    "x": cold_build(manuscript, tmp, long_env)})["x"]))
                print(f"×{times}: {scaling[-1][1][0]:.2f} s", flush=True)
            base = scaling[0][1][0]
            for times, (median, peak, runs) in scaling:
                listed = ", ".join(f"{t:.2f}" for t in runs)
                lines.append(f"| ×{times} | {median:.2f} s | {listed} | "
                             f"{peak / 1024:.0f} MiB | {median / base:.1f} |")
            _report(lines)
        if "batch" in parts:
            folder = volume(tmp)
            found = rounds(max(1, args.runs // 3), {
                "batch": batch_build(folder, tmp, env),
                "one": batch_build(folder, tmp, env, jobs=1),
                "series": one_after_another(folder, tmp, env)})
            lines += ["", "| a volume of 20 manuscripts | median | runs (s) | "
                      "peak memory |", "|---|---|---|---|",
                      _row("V  `build.py batch` (default --jobs)", found["batch"]),
                      _row("   `build.py batch --jobs 1` (one warm worker)",
                           found["one"]),
                      _row("   the same 20 builds one after another", found["series"]),
                      "", f"series/batch = {found['series'][0] / found['batch'][0]:.2f}"
                      f" on {os.cpu_count()} cores (target ≥ 1.8); of which the "
                      "warm worker (series / --jobs 1) = "
                      f"{found['series'][0] / found['one'][0]:.2f} and the cores "
                      f"(--jobs 1 / batch) = {found['one'][0] / found['batch'][0]:.2f}"]
    print(_report(lines))
    return 0


def _report(lines: list[str]) -> str:
    """bench/results.md as measured so far: a part that fails later (a
    build past its limit) does not lose the parts before it."""
    report = "\n".join(lines) + "\n"
    (ROOT / "bench" / "results.md").write_text(report, encoding="utf-8")
    return report


if __name__ == "__main__":
    sys.exit(main())
