#!/usr/bin/env python3
"""The build's speed, measured side by side: medians over repeated runs.

    python -m bench.bench             all measurements (several minutes)
    python -m bench.bench --runs 3    fewer runs

(From the project's folder, as a module: it imports the build's own
filter order and modules.)

Prints a table and writes it to bench/results.md with the machine noted:

  A  our cold build of PDF + HTML + EPUB (`python build.py`, empty output)
  B  the pipeline one writes by hand: pandoc per format with the filters as
     `--filter` subprocesses, then the `weasyprint` command
  C  WeasyPrint alone (its command) rendering our final print HTML
  D  a no-op rebuild (`python build.py` with nothing changed)
  E  the HTML refreshed by `build.py watch` after a one-paragraph edit
  ×1, ×4, ×16  the manuscript made 4 and 16 times longer (sections repeated,
     each copy citing its own copies of the entries): time and peak memory

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


def median_of(runs: int, make) -> tuple[float, int, list[float]]:
    results = [make() for _ in range(runs)]
    times = [t for t, _ in results]
    return statistics.median(times), max(p for _, p in results), times


def cold_build(manuscript: Path, tmp: Path, env: dict):
    def run():
        out = Path(tempfile.mkdtemp(dir=tmp))
        return timed([PYTHON, str(ROOT / "build.py"), "-q", "--manuscript",
                      str(manuscript), "--out", str(out)], ROOT, env)
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


def watcher_refresh(tmp: Path, env: dict, runs: int) -> list[float]:
    """E: the times a warm watcher reports for the HTML after an edit."""
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
    try:
        _wait_lines(log, "PDF and EPUB updated", 1)
        text = manuscript.read_text(encoding="utf-8")
        for n in range(runs):
            edited = text.replace("For critical investigation",
                                  f"For a critical investigation ({n})", 1)
            manuscript.write_text(edited, encoding="utf-8")
            _wait_lines(log, "PDF and EPUB updated", n + 2)
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)
    found = re.findall(r"HTML updated \(([\d.]+) s\)", log.read_text())
    return [float(x) for x in found[1:]]


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement")
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    rows = []
    with tempfile.TemporaryDirectory(prefix="pubbuild-bench-") as name:
        tmp = Path(name)
        article = ROOT / "manuscript" / "article.md"
        a = median_of(args.runs, cold_build(article, tmp, env))
        b = median_of(args.runs, by_hand(tmp, env))
        c = median_of(args.runs, weasyprint_alone(tmp, env))
        d = median_of(args.runs, no_op(tmp, env))
        e = watcher_refresh(tmp, env, args.runs)
        rows += [("A  our cold build (PDF + HTML + EPUB)", a),
                 ("B  by hand: pandoc ×3 with --filter, weasyprint", b),
                 ("C  WeasyPrint alone on our print HTML", c),
                 ("D  no-op rebuild", d),
                 ("E  HTML after a one-paragraph edit (watch)",
                  (statistics.median(e), 0, e))]
        scaling = []
        for times in (1, 4, 16):
            manuscript = article if times == 1 else longer(times, tmp)
            runs = args.runs if times < 16 else max(2, args.runs // 2)
            result = median_of(runs, cold_build(manuscript, tmp, env))
            scaling.append((times, result))
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}; {dt.date.today().isoformat()}. "
        f"Medians of {args.runs} runs (×16: {max(2, args.runs // 2)}); "
        "peak memory is the largest process's resident set.",
        "",
        "| measurement | median | runs (s) | peak memory |",
        "|---|---|---|---|",
    ]
    for label, (median, peak, times) in rows:
        memory = f"{peak / 1024:.0f} MiB" if peak else ""
        lines.append(f"| {label} | {median:.2f} s | "
                     f"{', '.join(f'{t:.2f}' for t in times)} | {memory} |")
    a_median, b_median, c_median = rows[0][1][0], rows[1][1][0], rows[2][1][0]
    lines += ["", f"A/C = {a_median / c_median:.2f} (target ≤ 1.3); "
              f"B/A = {b_median / a_median:.2f} (target ≥ 2.5); "
              f"D = {rows[3][1][0]:.2f} s (target ≤ 0.2 s); "
              f"E = {rows[4][1][0]:.2f} s (target ≤ 0.5 s)", "",
              "| length | median | runs (s) | peak memory | time / ×1 |",
              "|---|---|---|---|---|"]
    base = scaling[0][1][0]
    for times, (median, peak, runs) in scaling:
        listed = ", ".join(f"{t:.2f}" for t in runs)
        lines.append(f"| ×{times} | {median:.2f} s | {listed} | {peak / 1024:.0f} MiB"
                     f" | {median / base:.1f} |")
    report = "\n".join(lines) + "\n"
    print(report)
    (ROOT / "bench" / "results.md").write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
