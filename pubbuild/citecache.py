"""Pandoc's citeproc, not run again when an edit left the citations alone.

In `build.py watch` most saves change words, not citations. What citeproc
makes of a document depends only on its metadata, the bibliography and
style files, and the sequence of its citations (each with its prefix,
suffix, mode and the footnote it sits in): it renders each Cite, adds or
fills the reference list, and rewrites a little metadata. So when those
are the same as last time, its last answer applies to the new document
too: each Cite as it was rendered, the reference list where it was put.

That is only so when citeproc did nothing else. After each real run the
record checks it: the document it got and the one it gave back, with the
Cites set aside, must differ only in one run of top-level blocks, the
`refs` Div it filled (with the heading it may have put before it) or what
it appended at the end. Anything else (a note style turning citations
into footnotes) and nothing is kept: the next build runs citeproc again.
`tests/test_citecache.py` compares, on every test manuscript, an edited
document's result with citeproc's own.

Only the watcher turns it on (`enabled`): the record is its process's
last run. A cold build has none to use, and does not pay for keeping one.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class _Record:
    key: str
    cites: list  # citeproc's Cites (JSON), in document order
    meta: dict   # citeproc's metadata
    region: list  # the top-level blocks it replaced (masked JSON): [] or [refs]
    at_end: bool  # an empty region: what it added went at the end
    made: list   # the blocks it put there
    lists: int   # how many `refs` Divs the document had (citeproc fills them)


_LAST: _Record | None = None
enabled = False  # set by `build.py watch`


def reuse(document: dict) -> dict | None:
    """citeproc's answer for `document` (pandoc JSON) from the last run, or
    None when the last run does not tell it."""
    record = _LAST
    if record is None or record.key != key(document):
        return None
    blocks, cites = _masked(document["blocks"])
    if len(cites) != len(record.cites) or _refs_count(blocks) != record.lists:
        return None
    if record.region:
        found = [i for i, block in enumerate(blocks) if block == record.region[0]]
        if len(found) != 1:
            return None
        start, end = found[0], found[0] + 1
    elif record.at_end:
        start = end = len(blocks)
    else:
        return None
    fresh = copy.deepcopy(record.cites)
    out_blocks = [_unmasked(block, fresh) for block in blocks[:start]]
    out_blocks += copy.deepcopy(record.made)
    out_blocks += [_unmasked(block, fresh) for block in blocks[end:]]
    return {**document, "meta": copy.deepcopy(record.meta), "blocks": out_blocks}


def remember(given: dict, made: dict) -> None:
    """Keep citeproc's answer `made` for `given`, if it is one that applies
    to later documents with the same citations (see the module's doc)."""
    global _LAST
    _LAST = None
    before, cites_in = _masked(given["blocks"])
    after, cites_out = _masked(made["blocks"])
    if len(cites_in) != len(cites_out):
        return
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    tail = 0
    while (tail < min(len(before), len(after)) - start
           and before[-1 - tail] == after[-1 - tail]):
        tail += 1
    region = before[start:len(before) - tail]
    added = after[start:len(after) - tail]
    if any(_has_cite(block) for block in added):
        return
    if region:
        if len(region) != 1 or not _is_refs(region[0]) or \
                sum(block == region[0] for block in before) != 1:
            return
        at_end = False
    else:
        at_end = start == len(before)
        if not at_end:
            return
    _LAST = _Record(key(given), cites_out, made["meta"], region, at_end, added,
                    _refs_count(before))


def forget() -> None:
    global _LAST
    _LAST = None


def key(document: dict) -> str:
    """What citeproc's answer depends on: the metadata, the files it
    names (bibliographies, style), and each citation with its footnote."""
    _, cites = _masked(document["blocks"], notes=True)
    meta = document["meta"]
    files = []
    for name in ("bibliography", "csl"):
        for path in _strings(meta.get(name)):
            try:
                files.append(hashlib.sha256(Path(path).read_bytes()).hexdigest())
            except OSError:
                files.append(None)
    material = json.dumps([meta, files, cites, document.get("pandoc-api-version")],
                          sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _masked(blocks: list, notes: bool = False) -> tuple[list, list]:
    """The blocks with each Cite replaced by its number, and the Cites (with
    `notes`, each paired with the number of the footnote it is in)."""
    cites: list = []
    note = [0, None]  # notes seen, the one we are in

    def mask(node):
        if isinstance(node, dict):
            kind = node.get("t")
            if kind == "Cite":
                cites.append([note[1], node] if notes else node)
                return {"t": "Cite", "c": len(cites) - 1}
            if kind == "Note":
                note[0] += 1
                outer, note[1] = note[1], note[0]
                masked = {k: mask(v) for k, v in node.items()}
                note[1] = outer
                return masked
            return {k: mask(v) for k, v in node.items()}
        if isinstance(node, list):
            return [mask(item) for item in node]
        return node

    return [mask(block) for block in blocks], cites


def _unmasked(node, cites: list):
    if isinstance(node, dict):
        if node.get("t") == "Cite" and isinstance(node.get("c"), int):
            return cites[node["c"]]
        return {k: _unmasked(v, cites) for k, v in node.items()}
    if isinstance(node, list):
        return [_unmasked(item, cites) for item in node]
    return node


def _has_cite(node) -> bool:
    if isinstance(node, dict):
        return node.get("t") == "Cite" or any(_has_cite(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_cite(item) for item in node)
    return False


def _refs_count(node) -> int:
    if isinstance(node, dict):
        return int(_is_refs(node)) + sum(_refs_count(v) for v in node.values())
    if isinstance(node, list):
        return sum(_refs_count(item) for item in node)
    return 0


def _is_refs(block: dict) -> bool:
    return block.get("t") == "Div" and isinstance(block.get("c"), list) and \
        block["c"][0][0] == "refs"


def _strings(value) -> list[str]:
    if not isinstance(value, dict):
        return []
    if value.get("t") == "MetaString":
        return [value["c"]]
    if value.get("t") == "MetaList":
        return [s for item in value["c"] for s in _strings(item)]
    if value.get("t") == "MetaInlines":
        return ["".join(i.get("c", " ") if i.get("t") == "Str" else " "
                        for i in value["c"])]
    return []
