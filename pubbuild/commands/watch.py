"""`python build.py watch`: rebuild on change; serve with live reload."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from pubbuild import pipeline
from pubbuild.commands import one_line
from pubbuild.diagnostics import BuildError, display_path
from pubbuild.outputs import DEFAULT, output_name
from pubbuild.paths import ROOT


def run(args) -> int:
    """Rebuild on every change and serve the article with live reload."""
    import threading

    from pubbuild import citecache, watch

    # An edit that leaves the citations alone reuses citeproc's last answer.
    citecache.enabled = True
    out, manuscript = args.out.resolve(), args.manuscript.resolve()
    out.mkdir(parents=True, exist_ok=True)
    state = watch.State()
    name = manuscript.stem
    # The page first (the author is looking at it), the other formats after.
    rest = [fmt for fmt in DEFAULT if fmt != "html"]
    others = [output_name(name, fmt) for fmt in rest]
    server = watch.serve(out / output_name(name, "html"),
                         [out / other for other in others], args.port, state)
    port = server.server_address[1]

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def describe(exc: Exception) -> str:
        """A failed rebuild in the one line `build` would print; a bug (any
        other exception) also gets its traceback, and the watcher goes on."""
        if isinstance(exc, BuildError | OSError | RecursionError):
            return one_line(exc, manuscript)
        traceback.print_exception(exc)
        return (f"{display_path(manuscript)}: a bug in the build, not in the "
                f"input: {type(exc).__name__}: {exc}")

    say(f"Serving http://127.0.0.1:{port}/ (the article; also "
        f"{' and '.join('/' + other for other in others)}; loopback only; "
        "Ctrl-C stops)")
    quiet = pipeline.Progress(quiet=True)
    writing = threading.Lock()  # one MANIFEST.json writer at a time
    last: dict = {}

    def build_html():
        source = pipeline.read(manuscript, args.csl)
        doc = pipeline.run_filters(source)
        last["build"] = (source, doc)
        with writing:
            pipeline.write(["html"], doc, source, out, quiet, args.csl)

    def build_rest():
        source, doc = last["build"]
        with writing:
            pipeline.write(rest, doc, source, out, quiet, args.csl)

    def files() -> list[Path]:
        watched = [p for p in manuscript.parent.iterdir() if p.is_file()]
        if "build" in last:
            source, doc = last["build"]
            watched += [bib.path for bib in source.bibliographies] + [source.csl]
            watched += list(doc.context.image_files)
        for folder in ("templates", "styles", "fonts"):
            watched += sorted(p for p in (ROOT / folder).iterdir() if p.is_file())
        return watched

    try:
        watch.run(files, build_html, build_rest, state, say=say, describe=describe)
    finally:
        server.shutdown()
    return 0
