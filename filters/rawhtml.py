"""Make raw HTML in a manuscript safe to publish, or take it out.

A journal builds manuscripts it did not write. Raw HTML is kept where it
is plain markup, and cleaned of what could run or reach outside the
project: `<script>`, `<style>`, `<iframe>`, `<object>`, `<embed>`,
`<link>`, `<meta>`, `<base>`, `<form>` and their content; every `on…`
event handler; `javascript:`, `vbscript:` and `data:text/html` URLs; and a
resource (`src`, `srcset`, `poster`, `data`, an SVG `href`) that is not a
file inside the manuscript's folder (so no `file:///etc/hostname`, no
`http://…` an output would fetch). The same rules hold for the attributes
of pandoc's own elements (a `<div style=…>` pandoc parsed as a Div,
`[text]{onclick=…}`), and a Markdown link to a `javascript:` URL keeps
only its text. Each removal is a warning naming file:line. Raw LaTeX and
other formats pass untouched (only their own writers print them).

Metadata options: none.

Formats: all; runs before the writers (any place in the order would do).
"""

from __future__ import annotations

import html
import sys
from html.parser import HTMLParser
from pathlib import Path

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/rawhtml.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pubbuild import containment, context

WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript",
                "frame", "frameset", "applet", "svg:script"}
ALONE = {"link", "meta", "base", "form", "input", "button", "textarea", "select"}
LINKS = {"href", "action", "formaction", "xlink:href", "cite", "background"}
RESOURCES = {"src", "srcset", "poster", "data"}
UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
VOID = {"area", "br", "col", "hr", "img", "source", "track", "wbr"}


def prepare(doc: pf.Doc) -> None:
    context.of(doc)


def action(elem, doc):
    reporter, folder = doc.context.reporter, doc.context.folder
    if isinstance(elem, pf.RawBlock | pf.RawInline) and elem.format == "html":
        cleaned, removed = clean(elem.text, folder)
        for what in removed:
            reporter.warning(f"raw HTML: {what} removed",
                             reporter.locate(elem.text.strip()[:60]), source="rawhtml")
        if cleaned != elem.text:
            elem.text = cleaned
    if isinstance(elem, pf.Link) and elem.url.strip().lower().startswith(
            UNSAFE_SCHEMES):
        reporter.warning(f"link to {elem.url[:30]!r} removed (its text kept)",
                         reporter.locate(elem.url[:30]), source="rawhtml")
        return pf.Span(*elem.content)
    if getattr(elem, "attributes", None):
        # Pandoc's own elements carry attributes too (`<div style=…>` parsed
        # as a Div, `[text]{onclick=…}`): the same rules hold for them.
        tag = type(elem).__name__.lower()
        for name, value in list(elem.attributes.items()):
            problem = _attribute_problem(name, value, tag, folder)
            if problem:
                del elem.attributes[name]
                reporter.warning(f"attribute: {problem} removed",
                                 reporter.locate(f"{name}="), source="rawhtml")
    return None


def _attribute_problem(name: str, value: str, tag: str, folder: Path) -> str | None:
    """Why an attribute may not be published (or None): it runs a script,
    or loads something from outside the manuscript's folder."""
    lowered = value.strip().lower()
    if name.startswith("on"):
        return f"the {name} handler of <{tag}>"
    if (name in LINKS or name in RESOURCES) and lowered.startswith(UNSAFE_SCHEMES):
        return f"the {name}={value[:30]!r} of <{tag}>"
    if name in RESOURCES and not _inside(value, folder):
        return f"the {name}={value[:60]!r} of <{tag}> (only files in the " \
               "manuscript's folder)"
    if name == "style" and ("url(" in lowered or "expression(" in lowered):
        return f"the style of <{tag}> (it loads a URL)"
    return None


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, prepare=prepare, doc=doc)


def clean(markup: str, folder: Path) -> tuple[str, list[str]]:
    """The markup without what could run or fetch; what was removed."""
    parser = _Cleaner(folder)
    parser.feed(markup)
    parser.close()
    return "".join(parser.out), parser.removed


class _Cleaner(HTMLParser):
    def __init__(self, folder: Path):
        super().__init__(convert_charrefs=True)
        self.folder = folder
        self.out: list[str] = []
        self.removed: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs, closed=False):
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.append(tag)
            return
        if tag in WITH_CONTENT:
            self.removed.append(f"<{tag}> and its content")
            if not closed:
                self.skipping.append(tag)
            return
        if tag in ALONE:
            self.removed.append(f"<{tag}>")
            return
        kept = []
        for name, value in attrs:
            value = value or ""
            resource = name in RESOURCES or (name in ("href", "xlink:href") and tag in
                                             ("image", "use", "feimage"))
            if resource and not value.strip().lower().startswith(UNSAFE_SCHEMES) \
                    and not _inside(value, self.folder):
                self.removed.append(f"<{tag}> loading {value[:60]!r} (only files in "
                                    "the manuscript's folder)")
                return
            problem = _attribute_problem(name, value, tag, self.folder)
            if problem:
                self.removed.append(problem)
            else:
                kept.append(name if value == "" and name in ("hidden",) else
                            f'{name}="{html.escape(value)}"')
        text = " ".join([tag, *kept])
        self.out.append(f"<{text} />" if closed else f"<{text}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs, closed=True)

    def handle_endtag(self, tag):
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag in WITH_CONTENT or tag in ALONE or tag in VOID:
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(html.escape(data, quote=False))

    def handle_comment(self, data):
        pass  # comments are not published


def _inside(value: str, folder: Path) -> bool:
    """Whether every URL in `value` (srcset lists several) is a data: URL
    or a file inside `folder` (pubbuild.containment; no `file:` URLs)."""
    return all(containment.allowed(candidate.strip().split(" ")[0], folder,
                                   file_urls=False)
               for candidate in value.split(","))


if __name__ == "__main__":
    main()
