"""`build.py watch`: rebuild on change and serve the HTML with live reload.

One process stays warm (pandoc, panflute and WeasyPrint imported, the
bibliography index kept while the .bib and .csl are unchanged). When a
watched file changes it rebuilds the HTML first and bumps a version the
page polls, so the browser reloads; the PDF and the EPUB follow in the
background. A failed build is shown in the page and in the terminal, and
the watcher goes on.

The server listens on 127.0.0.1 only and serves the output folder. The
reload script and the error banner are added to pages as they are served;
the files on disk are the build's, byte for byte.

This module knows the build only through the callables it is given.
"""

from __future__ import annotations

import html
import json
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

POLL = 0.3  # seconds between looks at the files
RELOAD = """<script>
(function () {
  var seen = null;
  function look() {
    fetch("/__pubbuild/state").then(function (r) { return r.json(); })
      .then(function (s) {
        if (seen !== null && s.version !== seen) { location.reload(); }
        seen = s.version;
      }).catch(function () {});
  }
  look(); setInterval(look, 500);
})();
</script>"""


class State:
    """What the page asks for: a version that changes on every build, and
    the last error, if the last build failed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.version = 0
        self.error = ""

    def done(self, error: str = "") -> None:
        with self.lock:
            self.version += 1
            self.error = error

    def snapshot(self) -> dict:
        with self.lock:
            return {"version": self.version, "error": self.error}


def serve(folder: Path, port: int, state: State) -> ThreadingHTTPServer:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self):  # noqa: N802 (the http.server name)
            if self.path.startswith("/__pubbuild/state"):
                return self._send(json.dumps(state.snapshot()).encode(),
                                  "application/json")
            path = Path(self.translate_path(self.path))
            if path.suffix == ".html" and path.is_file():
                page = path.read_text(encoding="utf-8")
                error = state.snapshot()["error"]
                banner = (f'<pre role="alert" style="background:#fee;color:#600;'
                          f'padding:1em;white-space:pre-wrap">Build failed: '
                          f"{html.escape(error)}</pre>") if error else ""
                page = page.replace("<body>", "<body>" + banner, 1)
                page = page.replace("</body>", RELOAD + "</body>", 1)
                return self._send(page.encode("utf-8"), "text/html; charset=utf-8")
            return super().do_GET()

        def _send(self, body: bytes, kind: str):
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # the terminal is for builds
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def snapshot(files) -> dict[Path, int]:
    found = {}
    for path in files():
        try:
            found[path] = path.stat().st_mtime_ns
        except OSError:
            found[path] = -1
    return found


def run(files, build_html, build_rest, state: State, say=print) -> None:
    """Watch `files()` and rebuild until interrupted.

    `build_html()` and `build_rest()` raise on a failed build; the message
    is shown, and the watcher keeps watching.
    """
    rest = threading.Lock()

    def background():
        with rest:
            try:
                started = time.perf_counter()
                build_rest()
                say(f"PDF and EPUB updated ({time.perf_counter() - started:.2f} s)")
                state.done()
            except Exception as exc:  # shown, and the watcher goes on
                say(f"error: {exc}")
                state.done(str(exc))

    def rebuild():
        started = time.perf_counter()
        try:
            build_html()
        except Exception as exc:  # shown in the page and here
            say(f"error: {exc}")
            state.done(str(exc))
            return
        say(f"HTML updated ({time.perf_counter() - started:.2f} s)")
        state.done()
        threading.Thread(target=background, daemon=True).start()

    rebuild()
    seen = snapshot(files)
    try:
        while True:
            time.sleep(POLL)
            now = snapshot(files)
            if now != seen:
                changed = sorted(p.name for p in now if now.get(p) != seen.get(p))
                say(f"changed: {', '.join(changed)}")
                seen = now
                rebuild()
    except KeyboardInterrupt:
        say("stopped")
        sys.exit(0)
