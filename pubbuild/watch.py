"""`build.py watch`: rebuild on change and serve the article with live reload.

One process stays warm (pandoc, panflute and WeasyPrint imported, the
bibliography index kept while the .bib and .csl are unchanged). When a
watched file changes (its stamp is looked at every POLL seconds) it
rebuilds the HTML first and bumps a version; the page's request for it
(a long poll) is answered at once, and the browser reloads; the PDF and
the EPUB follow in the background. A failed build is shown in the page
and in the terminal, and the watcher goes on.

The server listens on 127.0.0.1 only. It serves the article's HTML at `/`
(and under its own name) and the PDF and EPUB under theirs, and nothing
else: no listing, no other file of the output folder (which may also hold
a submission package or a manifest), 404 for any other path. The reload
script and the error banner are added to the page as it is served; the
files on disk are the build's, byte for byte.

This module knows the build only through the callables it is given.
"""

from __future__ import annotations

import html
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

POLL = 0.1  # seconds between looks at the files (a stat each: cheap)
LONG = 25  # seconds the page's state request may wait for a new version
STATE = "/__pubbuild/state"
KINDS = {".html": "text/html; charset=utf-8", ".pdf": "application/pdf",
         ".epub": "application/epub+zip"}
RELOAD = """<script>
(function () {
  // A long poll: the server answers when the version changes (or after
  // LONG seconds), so the page reloads as soon as a build is done.
  var seen = null;
  function look() {
    fetch(seen === null ? "STATE" : "STATE?after=" + seen)
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (seen !== null && s.version !== seen) { location.reload(); return; }
        seen = s.version;
        look();
      }).catch(function () { setTimeout(look, 1000); });
  }
  look();
})();
</script>""".replace("STATE", STATE)


WAITING = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
           "<title>No article yet</title></head><body><p>No article yet: this "
           "page reloads when it is built.</p></body></html>")


class State:
    """What the page asks for: a version that changes whenever what the
    page shows changes, and the error of the newest build, if it failed.

    Builds are numbered. Build n reports its HTML and then, from the
    background, its PDF and EPUB; a report of an older build (a PDF that
    finished after the next edit's HTML failed) is about outputs the page
    no longer shows, and changes neither the error nor the version.
    `following` counts the PDF and EPUB jobs queued or under way."""

    def __init__(self):
        self.lock = threading.Lock()
        self.build = 0  # the newest build started
        self.version = 0
        self.error = ""
        self.following = 0
        self.changed = threading.Condition(self.lock)

    def wait(self, after: int, seconds: float) -> None:
        """Until the version is not `after` (or `seconds` have passed)."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != after, seconds)

    def started(self) -> int:
        with self.lock:
            self.build += 1
            return self.build

    def done(self, build: int, error: str = "") -> None:
        with self.lock:
            if build == self.build:
                self.version += 1
                self.error = error
                self.changed.notify_all()

    def follow(self, change: int) -> None:
        with self.lock:
            self.following += change

    def snapshot(self) -> dict:
        with self.lock:
            return {"build": self.build, "version": self.version,
                    "error": self.error, "following": self.following}


def banner(error: str) -> str:
    if not error:
        return ""
    return ('<pre role="alert" style="background:#fee;color:#600;padding:1em;'
            f'white-space:pre-wrap">Build failed:\n{html.escape(error)}</pre>')


def serve(page: Path, downloads: list[Path], port: int,
          state: State) -> ThreadingHTTPServer:
    """Serve `page` at / and under its name, each of `downloads` under its
    name; any other path is 404."""
    routes = {"/": page, f"/{page.name}": page,
              **{f"/{path.name}": path for path in downloads}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server name)
            self._answer(with_body=True)

        def do_HEAD(self):  # noqa: N802
            self._answer(with_body=False)

        def _answer(self, with_body: bool):
            # An exact match on the decoded path: nothing is looked up on
            # disk by name, so `..`, other files and folders cannot be reached.
            url = urlsplit(self.path)
            path = unquote(url.path)
            if path == STATE:
                after = parse_qs(url.query).get("after", [""])[0]
                if after.lstrip("-").isdigit():
                    state.wait(int(after), LONG)
                body = json.dumps(state.snapshot()).encode()
                return self._send(200, body, "application/json", with_body)
            file = routes.get(path)
            try:
                body = file.read_bytes() if file else None
            except OSError:  # not built yet
                body = None
            if body is None and file == page:
                # No page yet (the first build is under way, or failed): one
                # that shows why, and reloads when there is one.
                return self._send(503, self._live(WAITING), KINDS[".html"],
                                  with_body)
            if body is None:
                served = ", ".join(sorted(routes))
                return self._send(404, f"Not found. Served here: {served}\n"
                                  .encode(), "text/plain; charset=utf-8", with_body)
            if file == page:
                body = self._live(body.decode("utf-8"))
            return self._send(200, body, KINDS.get(file.suffix,
                                                   "application/octet-stream"),
                              with_body)

        def _live(self, text: str) -> bytes:
            text = re.sub(r"<body[^>]*>", lambda m: m.group(0) + banner(
                state.snapshot()["error"]), text, count=1)
            return text.replace("</body>", RELOAD + "</body>", 1).encode("utf-8")

        def _send(self, status: int, body: bytes, kind: str, with_body: bool):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def log_message(self, *args):  # the terminal is for builds
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    # It checks for shutdown every 0.1 s (not 0.5): Ctrl-C ends the watcher,
    # and a test's server, without a wait one notices.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    return server


def stamp(path: Path) -> tuple:
    """What changes when a file is written: the time alone may not (a write
    within the clock's tick of the last one), the size or the inode (an
    editor's save-by-rename) then does."""
    try:
        info = path.stat()
    except OSError:
        return ()
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def snapshot(files) -> dict[Path, tuple]:
    return {path: stamp(path) for path in files()}


def run(files, build_html, build_rest, state: State, say=print,
        describe=str) -> None:
    """Watch `files()` and rebuild until interrupted.

    `build_html()` and `build_rest()` raise on a failed build; `describe`
    makes the exception the one line shown in the terminal and the page,
    and the watcher keeps watching. The state is updated before the
    terminal is told: whoever reads a line there is served the page it
    speaks of.
    """
    rest = threading.Lock()
    newest = [0]  # the newest build whose HTML was made: its PDF and EPUB are due

    def failed(build: int, exc: Exception, what: str = "") -> None:
        line = what + describe(exc)
        state.done(build, line)
        say(line)

    def background(build: int):
        try:
            with rest:
                if build != newest[0]:
                    return  # a later edit's HTML is made: its PDF and EPUB follow
                started = time.perf_counter()
                try:
                    build_rest()
                except Exception as exc:  # shown, and the watcher goes on
                    return failed(build, exc, "PDF and EPUB not updated: ")
                state.done(build)
                say(f"PDF and EPUB updated ({time.perf_counter() - started:.2f} s)")
        finally:
            state.follow(-1)

    def rebuild(before: dict) -> dict:
        """Build; what to compare the next look with: the files as they
        were before the build, so that a change during it is not missed
        (and files first named by this build as they are now)."""
        build = state.started()
        started = time.perf_counter()
        try:
            build_html()
        except Exception as exc:  # shown in the page and here
            failed(build, exc)
        else:
            newest[0] = build
            state.follow(+1)
            state.done(build)
            say(f"HTML updated ({time.perf_counter() - started:.2f} s)")
            threading.Thread(target=background, args=(build,), daemon=True).start()
        return {path: before.get(path, now) for path, now in snapshot(files).items()}

    seen = rebuild(snapshot(files))
    try:
        while True:
            time.sleep(POLL)
            now = snapshot(files)
            if now != seen:
                changed = sorted({p.name for p in {*now, *seen}
                                  if now.get(p) != seen.get(p)})
                say(f"changed: {', '.join(changed)}")
                seen = rebuild(now)
    except KeyboardInterrupt:
        say("stopped")
        sys.exit(0)
