"""What an author must fix for readers who use assistive technology.

`check(doc, reporter)` walks the filtered document (the figures filter has
moved `fig-alt` to `alt`, the crossref filter has numbered captions) and
reports, one `file:line` each:

- an image without alt text (warning): nothing between the brackets, no
  `fig-alt`, and no caption to stand in for it. An image marked
  `{.decorative}` needs none;
- a figure whose only description is its caption (note): a caption names
  what the figure is about, it seldom says what the image shows;
- a table without a header row (warning): a screen reader then reads its
  cells without saying which column they are in. Pandoc's pipe tables
  always have one; a simple or grid table without the header line has not;
- a heading more than one level below the one before it (warning): the
  outline a reader moves through skips a level;
- a link whose text says nothing about where it goes ("here", "click
  here", "read more", ...) or has no text (warning): screen readers list
  a page's links by their text alone. A bare URL is its own description;
- one note when the manuscript has images: whether colour alone carries
  meaning in them cannot be judged from the source.

The diagnostics go to the `reporter` given, not the build's own, so the
other reports' counts stay theirs. This module must not know about output
formats or the command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import panflute as pf

from pubbuild.diagnostics import Reporter

SOURCE = "accessibility"
# Link texts that say nothing out of context (WCAG 2.4.4), compared without
# case and final punctuation.
VAGUE = {"here", "click here", "click", "this", "this link", "link", "more",
         "read more", "learn more", "see here", "this page", "go"}
DECORATIVE = "decorative"  # the class that says an image needs no alt text


@dataclass
class Findings:
    """How many of each problem `check` reported, for the summary line."""

    images: int = 0     # without alt text
    captioned: int = 0  # figures described by their caption only
    tables: int = 0     # without a header row
    headings: int = 0   # skipped levels
    links: int = 0      # vague or empty text
    pictures: int = 0   # images not decorative, for the note on colour

    def summary(self) -> str:
        counts = [(self.images, "image without alt text", "images without alt text"),
                  (self.captioned, "figure described only by its caption",
                   "figures described only by their caption"),
                  (self.tables, "table without a header row",
                   "tables without a header row"),
                  (self.headings, "skipped heading level", "skipped heading levels"),
                  (self.links, "link whose text says nothing",
                   "links whose text says nothing")]
        said = [f"{n} {one if n == 1 else many}" for n, one, many in counts if n]
        colour = (f"; colour not judged in {self.pictures} image"
                  f"{'' if self.pictures == 1 else 's'}" if self.pictures else "")
        return f"Accessibility: {', '.join(said) or 'nothing to fix'}{colour}"


def check(doc: pf.Doc, reporter: Reporter) -> Findings:
    """Report every problem in `doc` to `reporter`, in document order."""
    found = Findings()
    elements: list = []
    doc.walk(lambda elem, _doc: elements.append(elem)
             if isinstance(elem, (pf.Image, pf.Table, pf.Header, pf.Link)) else None)
    top = min((e.level for e in elements if isinstance(e, pf.Header)), default=1)
    previous = top - 1  # the title stands above the top level
    for elem in elements:
        if isinstance(elem, pf.Image):
            _image(elem, reporter, found)
        elif isinstance(elem, pf.Table):
            _table(elem, reporter, found)
        elif isinstance(elem, pf.Header):
            _heading(elem, previous, reporter, found)
            previous = elem.level
        elif isinstance(elem, pf.Link):
            _link(elem, reporter, found)
    if found.pictures:
        reporter.report("note", "whether colour alone carries meaning in the "
                        "figures cannot be checked: say in the text or the alt "
                        "text what each colour stands for", source=SOURCE)
    return found


def alt_text(image: pf.Image) -> str:
    """The image's own description: `alt`/`fig-alt`, else the brackets."""
    return _folded(image.attributes.get("alt") or pf.stringify(image))


def caption_text(image: pf.Image) -> str:
    """The caption of the figure the image is in ("" if none)."""
    figure = image.parent
    while figure is not None and not isinstance(figure, pf.Figure):
        figure = figure.parent
    return _folded(pf.stringify(figure.caption)) if figure is not None else ""


def _image(image: pf.Image, reporter: Reporter, found: Findings) -> None:
    if DECORATIVE in image.classes:
        return
    found.pictures += 1
    line = reporter.locate(image.url[:60])
    alt, caption = alt_text(image), caption_text(image)
    name = image.url if len(image.url) <= 40 else image.url[:40] + "…"
    if not alt and not caption:
        found.images += 1
        reporter.warning(f"image {name} has no alt text: say what it shows in "
                         "the brackets, ![...], or mark it {.decorative}",
                         line, source=SOURCE)
    elif not alt or caption.endswith(alt):
        # Pandoc repeats the caption as the alt text; the crossref filter
        # prefixes the caption with its number, hence endswith.
        found.captioned += 1
        reporter.report("note", f"figure {name} has only its caption for alt "
                        'text: add fig-alt="..." saying what the image shows',
                        line, source=SOURCE)


def _table(table: pf.Table, reporter: Reporter, found: Findings) -> None:
    if any(pf.stringify(cell).strip() for row in table.head.content
           for cell in row.content):
        return
    first = next((pf.stringify(cell) for body in table.content
                  for row in body.content for cell in row.content
                  if pf.stringify(cell).strip()), "")
    caption = _folded(pf.stringify(table.caption))
    line = reporter.locate(*[snippet for snippet in (first, caption) if snippet])
    what = f"table {caption[:40]!r}" if caption else f"table starting {first[:30]!r}"
    found.tables += 1
    reporter.warning(f"{what} has no header row: give its columns headings "
                     "(a pipe table always has them)", line, source=SOURCE)


def _heading(header: pf.Header, previous: int, reporter: Reporter,
             found: Findings) -> None:
    if header.level <= previous + 1:
        return
    text = _folded(pf.stringify(header))
    line = reporter.locate(f"{'#' * header.level} {text}", text)
    above = f"a {'#' * previous} heading" if previous else "the title"
    skipped = " and ".join("#" * n for n in range(previous + 1, header.level))
    found.headings += 1
    reporter.warning(f"heading {'#' * header.level} {text!r} follows {above}: "
                     f"{skipped} skipped", line, source=SOURCE)


def _link(link: pf.Link, reporter: Reporter, found: Findings) -> None:
    text = _folded(pf.stringify(link))
    images = []
    link.walk(lambda e, _d: images.append(e) if isinstance(e, pf.Image) else None)
    if images and not text:
        return  # an image link: its alt text is its name, checked as an image
    if text and text.lower().rstrip(".:!,;") not in VAGUE:
        return
    line = reporter.locate(f"[{text}]({link.url}", f"]({link.url}", text or link.url)
    found.links += 1
    if not text:
        reporter.warning(f"link to {link.url} has no text", line, source=SOURCE)
    else:
        reporter.warning(f"link text {text!r} says nothing out of context: say "
                         f"what {link.url} is", line, source=SOURCE)


def _folded(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()
