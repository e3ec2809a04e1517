"""A Markdown file's YAML front matter, read without pandoc.

For the few places that need a field before pandoc has read the file, or
without reading it: the no-op check (the `date:`), the bibliography index
made while pandoc parses, the files a git revision must provide. Anything
that does not parse plainly gives nothing: pandoc's own reading then
reports the problem with its line.

This module must not know about pandoc or the formats.
"""

from __future__ import annotations

import yaml


def fields(text: str) -> dict:
    """The front matter as a mapping; {} when there is none or it is broken."""
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    try:
        meta = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}
    return meta if isinstance(meta, dict) else {}


def files(meta: dict, key: str) -> list[str]:
    """The file names a field gives, as one string or a list of them."""
    value = meta.get(key)
    return [item for item in (value if isinstance(value, list) else [value])
            if isinstance(item, str) and item]
