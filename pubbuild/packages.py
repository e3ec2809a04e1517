"""Files that pinned Python packages ship (a library, a jar, a runtime).

Found through the import system without importing the package: some
import slowly or need dependencies the file itself does not.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def shipped(package: str, *parts: str) -> Path | None:
    """`parts` inside the installed `package`, or None where it is missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0], *parts)
    return path if path.is_file() else None
