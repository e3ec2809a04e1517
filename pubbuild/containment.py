"""What a manuscript may load: `data:` URLs and files inside its folder.

The one rule for every place that loads something a manuscript names: its
images and what an SVG among them refers to (filters/figures.py), the URLs
in its raw HTML (filters/rawhtml.py), and what WeasyPrint fetches while it
renders (pubbuild/pdf.py). Nothing is fetched from the network, and no file
outside the folder is read, however the path is spelled (`..`, a symbolic
link, an absolute path, `%2e%2e`): paths are compared after resolving.

This module must not know about pandoc, panflute or any output format.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

# What the HTML, the EPUB and WeasyPrint all display.
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp"}


def is_data(url: str) -> bool:
    return urlsplit(url.strip()).scheme == "data"


def local_path(url: str, base: Path, *, file_urls: bool = True) -> Path | None:
    """The file a local URL names, resolved against `base`; None for a URL
    that is not local (a scheme other than `file:` — or any scheme, with
    `file_urls=False` — or a host), for a `data:` URL, and for a name no
    file can have (a NUL byte, `%00`)."""
    parts = urlsplit(url.strip())
    if parts.netloc or parts.scheme not in (("", "file") if file_urls else ("",)):
        return None
    name = unquote(parts.path)
    if "\0" in name:  # no file has that name (and resolve() would raise)
        return None
    return (base / name).resolve()


def inside(path: Path, folder: Path) -> bool:
    """Whether `path` (resolved) is `folder` or below it."""
    return path.resolve().is_relative_to(folder.resolve())


def allowed(url: str, folder: Path, *, base: Path | None = None,
            file_urls: bool = True) -> bool:
    """Whether `url` may be loaded: a `data:` URL, or a local file inside
    `folder` (relative URLs start at `base`, by default the folder)."""
    if is_data(url):
        return True
    path = local_path(url, base or folder, file_urls=file_urls)
    return path is not None and inside(path, folder)
