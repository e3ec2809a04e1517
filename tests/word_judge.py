"""LibreOffice as the judge of a Word file's page and line numbers.

Word numbers lines when it lays a document out; LibreOffice does the same
and prints the numbers in the left margin of the PDF it converts to. What
it prints is what pubbuild.docxlines (and the response to reviewers, which
cites pages and lines of the revised DOCX) must say. LibreOffice comes from
a11y_tools.soffice: found, or installed, or the test fails with the
command to run; never skipped.
"""

from __future__ import annotations

import collections
import re
import subprocess
from pathlib import Path

import pytest

from a11y_tools import machine_fonts_env, soffice
from outputs import pdf_fonts


def libreoffice_pdf(docx: bytes, tmp: Path) -> Path:
    """`docx` converted to PDF by LibreOffice, with a private profile."""
    source = tmp / "manuscript.docx"
    source.write_bytes(docx)
    proc = subprocess.run(
        [soffice(), f"-env:UserInstallation={(tmp / 'profile').as_uri()}",
         "--headless", "--convert-to", "pdf", "--outdir", str(tmp), str(source)],
        capture_output=True, text=True, timeout=300, env=machine_fonts_env())
    out = tmp / "manuscript.pdf"
    if proc.returncode != 0 or not out.is_file():
        pytest.fail(f"LibreOffice did not convert the DOCX:\n{proc.stderr[-2000:]}")
    fonts = [name for name, _ in pdf_fonts(out)]
    if not any("Liberation" in f or "Times" in f for f in fonts):
        pytest.fail(f"LibreOffice set the DOCX in {sorted(fonts)}, not Times New "
                    "Roman or Liberation Serif: apt-get install fonts-liberation2")
    return out


def numbered_lines(pdf: Path, left_margin: float = 72.0) -> list[tuple[int, int, str]]:
    """(page, number, text) of every line LibreOffice numbered: the digits
    left of the text column, and the text runs nearest each (raised
    superscripts included)."""
    from pypdf import PdfReader

    found = []
    for page_number, page in enumerate(PdfReader(pdf).pages, start=1):
        numbers: dict[float, int] = {}
        texts: dict[float, list[tuple[float, str]]] = collections.defaultdict(list)

        def visit(text, cm, tm, _font, _size, numbers=numbers, texts=texts):
            if not text.strip():
                return
            x = tm[4] * cm[0] + cm[4]
            y = round(tm[5] * cm[3] + cm[5], 1)
            if x < left_margin - 12 and text.strip().isdigit():
                numbers[y] = int(text)
            else:
                texts[y].append((x, text))

        page.extract_text(visitor_text=visit)
        beside: dict[float, list] = collections.defaultdict(list)
        for y, parts in texts.items():
            if numbers:
                near = min(numbers, key=lambda n, y=y: abs(n - y))
                if abs(near - y) < 7:
                    beside[near].extend(parts)
        previous = 0
        for y in sorted(numbers, reverse=True):
            if numbers[y] <= previous:
                break  # LibreOffice numbers the footnotes apart; Word does not
            previous = numbers[y]
            text = "".join(part for _, part in sorted(beside[y]))
            found.append((page_number, numbers[y], text.strip()))
    return found


def first_word(text: str) -> str:
    """The first word of letters: list labels and bullets (which LibreOffice
    writes in a private-use character) left out."""
    words = re.findall(r"[^\W\d_]+", text)
    return words[0] if words else ""

