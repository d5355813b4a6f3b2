"""Template filters of the counsellor portal."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from shared.web.filters import local_dt


def iso_datetime(value: str | None) -> str:
    """An ISO timestamp kept as text (a fullmakt's history) in local time."""
    if not value:
        return ""
    try:
        return local_dt(datetime.fromisoformat(value))
    except ValueError:
        return value


def init_app(app: Flask) -> None:
    app.add_template_filter(iso_datetime, "iso_datetime")
