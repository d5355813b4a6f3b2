"""The fullmakt's text as the principal signed it: BankID's simpleMarkdownV1, rendered for
the creditor who verifies it.

Only headings (``# ``, ``## ``, ``### ``), list items (``+ ``) and paragraphs become HTML;
every piece of text is escaped first, so nothing in the text can become markup.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_HEADING = re.compile(r"^(#{1,3}) +(.+)$")
_ITEM = re.compile(r"^\+ +(.*)$")


def simple_markdown(text: str | None, *, top: int = 3) -> Markup:
    """``#`` becomes ``<h{top}>`` (``##`` one level below ...), ``+ `` a list item, other
    lines paragraphs (a single line break inside one is kept)."""
    html: list[Markup] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            html.append(Markup("<p>{}</p>").format(
                Markup("<br>").join(escape(line) for line in paragraph)))
            paragraph.clear()
        if items:
            html.append(Markup("<ul>{}</ul>").format(
                Markup("").join(Markup("<li>{}</li>").format(item) for item in items)))
            items.clear()

    for raw in (text or "").replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        heading, item = _HEADING.match(line), _ITEM.match(line)
        if not line:
            flush()
        elif heading:
            flush()
            level = min(top + len(heading.group(1)) - 1, 6)
            html.append(Markup("<h{0}>{1}</h{0}>").format(level, heading.group(2)))
        elif item:
            if paragraph:
                flush()
            items.append(item.group(1))
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return Markup("\n").join(html)
