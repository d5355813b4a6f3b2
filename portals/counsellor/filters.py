"""Template filters of the counsellor portal."""

from __future__ import annotations

import re
from datetime import datetime

from flask import Flask
from markupsafe import Markup, escape

from shared.web.filters import local_dt

_HEADING = re.compile(r"^(#{1,3}) +(.*)$")


def simple_markdown(text: str | None) -> Markup:
    """Show a BankID ``simpleMarkdownV1`` text (the fullmakt as the client signs it) as
    HTML: ``#`` headings, ``+`` list items and paragraphs. Every line is escaped before
    any tag is added, so the text itself can never inject markup."""
    blocks: list[str] = []
    items: list[str] = []
    lines: list[str] = []

    def close() -> None:
        if items:
            blocks.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()
        if lines:
            blocks.append("<p>" + "<br>".join(lines) + "</p>")
            lines.clear()

    for raw in (text or "").splitlines():
        line = raw.strip()
        heading = _HEADING.match(line)
        if not line:
            close()
        elif heading:
            close()
            level = len(heading.group(1)) + 2  # the page already has h1 and h2
            blocks.append(f"<h{level}>{escape(heading.group(2))}</h{level}>")
        elif line.startswith("+ "):
            if lines:
                close()
            items.append(str(escape(line[2:].strip())))
        else:
            if items:
                close()
            lines.append(str(escape(line)))
    close()
    return Markup("\n".join(blocks))  # noqa: S704 - built from escaped text only


def iso_datetime(value: str | None) -> str:
    """An ISO timestamp kept as text (a fullmakt's history) in local time."""
    if not value:
        return ""
    try:
        return local_dt(datetime.fromisoformat(value))
    except ValueError:
        return value


def init_app(app: Flask) -> None:
    app.add_template_filter(simple_markdown, "simple_markdown")
    app.add_template_filter(iso_datetime, "iso_datetime")
