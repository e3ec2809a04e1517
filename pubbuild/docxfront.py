"""The front matter of the Word files: what the PDF's title block prints.

pandoc's DOCX writer prints the title, the author names, the date and the
abstract from the metadata, and nothing else: no affiliations, no author
notes, no keywords. `front` gives the Word writer a copy of the document
whose front matter reads, in named paragraph styles an editor can restyle:

- Title (pandoc's, from the metadata);
- the names in pandoc's "Author" style, each with its mark from the
  authors filter's `byline` (superscript "1,2*" or the note mark);
- "Affiliation": one paragraph per affiliation or note-marked author note
  (`author-notes`, as the PDF prints them under the names or at the foot);
  "Author Note": what the equal-contribution and corresponding marks mean
  (the corresponding author's e-mail is in one of the two);
- "Correspondence": the manuscript's own `correspondence` line, if any;
- the date ("Date") and the abstract ("Abstract Title", "Abstract"), moved
  from the metadata into the body so that they follow the author block;
- "Keywords": "Keywords: a; b; c".

Only what is in the metadata is printed: the anonymised manuscript, whose
authors `submission.anonymise` removed, gets no names, affiliations or
e-mails. The names stay in the `author` metadata (the file's Author
property) and their marks are raw OpenXML, which pandoc's plain-text
reading of the metadata for that property skips.

This module must not know how the authors were written in the manuscript
(the authors filter's job) nor touch the bytes of the Word file.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

import panflute as pf
from panflute.elements import from_json

from pubbuild import pandoc

# author-notes classes (filters/authors.py) printed as notes, not addresses.
NOTE_CLASSES = ("equal-contrib", "corresponding")


def front(doc: pf.Doc) -> pf.Doc:
    """A copy of `doc` with the author block, the date, the abstract and the
    keywords as styled paragraphs at the start of its body."""
    doc = pandoc.copy(doc)
    meta = doc.metadata
    _mark_authors(doc)
    blocks = []
    for note in _list(meta, "author-notes"):
        style = ("Author Note" if _string(_field(note, "class")) in NOTE_CLASSES
                 else "Affiliation")
        mark = _string(_field(note, "mark"))
        text = _inlines(_field(note, "text"))
        blocks.append(_styled(style, [pf.Superscript(pf.Str(mark)), pf.Space(),
                                      *text] if mark else text))
    if "correspondence" in meta:
        blocks.append(_styled("Correspondence", _inlines(meta["correspondence"])))
    if "date" in meta:
        blocks.append(_styled("Date", _inlines(meta["date"])))
        del meta["date"]
    if "abstract" in meta:
        title = (_inlines(meta["abstract-title"]) if "abstract-title" in meta
                 else [pf.Str("Abstract")])
        blocks.append(_styled("Abstract Title", title))
        blocks.append(pf.Div(*_blocks(meta["abstract"]),
                             attributes={"custom-style": "Abstract"}))
        del meta["abstract"]
    keywords = [_inlines(k) for k in _list(meta, "keywords")]
    if keywords:
        line = [pf.Strong(pf.Str("Keywords:")), pf.Space()]
        for n, keyword in enumerate(keywords):
            line += [pf.Str(";"), pf.Space()] if n else []
            line += keyword
        blocks.append(_styled("Keywords", line))
    doc.content = [*blocks, *doc.content]
    return doc


def _mark_authors(doc: pf.Doc) -> None:
    """Each name in `author` followed by its byline mark, when the byline is
    the authors filter's for the same names."""
    authors, byline = _list(doc.metadata, "author"), _list(doc.metadata, "byline")
    if not byline or len(authors) != len(byline):
        return
    marked = []
    for author, entry in zip(authors, byline, strict=True):
        mark = _string(_field(entry, "mark"))
        inlines = _inlines(author)
        if mark:  # a run of its own: the Author property stays the names
            inlines.append(pf.RawInline(
                '<w:r><w:rPr><w:vertAlign w:val="superscript" /></w:rPr>'
                f'<w:t xml:space="preserve">{escape(mark)}</w:t></w:r>',
                format="openxml"))
        marked.append(pf.MetaInlines(*inlines))
    doc.metadata["author"] = pf.MetaList(*marked)


def _styled(style: str, inlines: list) -> pf.Div:
    return pf.Div(pf.Para(*inlines), attributes={"custom-style": style})


def _list(meta: pf.MetaMap, key: str) -> list:
    value = meta.get(key)
    if value is None:
        return []
    return list(value.content) if isinstance(value, pf.MetaList) else [value]


def _field(entry, key: str):
    return entry.get(key) if isinstance(entry, pf.MetaMap) else None


def _string(value) -> str:
    return "" if value is None else pf.stringify(value)


def _inlines(value) -> list:
    """A metadata value as inlines, copied: the body gets elements of its own."""
    if isinstance(value, pf.MetaInlines):
        return _copied(value.content)
    if isinstance(value, pf.MetaBlocks):
        blocks = list(value.content)
        if len(blocks) == 1 and isinstance(blocks[0], pf.Plain | pf.Para):
            return _copied(blocks[0].content)
    return [pf.Str(_string(value))] if value is not None else []


def _blocks(value) -> list:
    if isinstance(value, pf.MetaBlocks):
        return _copied(value.content)
    return [pf.Para(*_inlines(value))]


def _copied(elements) -> list:
    return [json.loads(json.dumps(element.to_json()), object_hook=from_json)
            for element in elements]
