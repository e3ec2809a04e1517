"""Where the project's own files are: defined here, and nowhere else.

This module must not know about anything but the file system.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project: build.py's folder
TEMPLATES = ROOT / "templates"
STYLES = ROOT / "styles"
FONTS = ROOT / "fonts"
FILTERS = ROOT / "filters"
JOURNALS = ROOT / "journals"
SCHEMAS = ROOT / "schemas"
DEFAULT_MANUSCRIPT = ROOT / "manuscript" / "article.md"
DEFAULT_OUT = ROOT / "dist"
