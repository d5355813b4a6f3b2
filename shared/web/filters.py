"""Template filters: money in Swedish kronor, masked identity numbers, dates, and the
domain's Swedish labels (debt kinds and statuses, budget categories) in the reader's
language."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, format_decimal
from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from shared.core.clock import STOCKHOLM
from shared.core.lists import COUNT_CAP
from shared.counselling.rules.budget import CATEGORY_LABELS
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.identity.models import Channel, OrgKind, Role
from shared.identity.rules import mask

# Explicit patterns: CLDR's English one ("¤#,##0.00") glues the code to the number
# ("SEK89,120.00"). The separators are no-break spaces, so an amount never wraps.
_MONEY_PATTERNS = {"sv": "#,##0.00\xa0¤", "en": "¤\xa0#,##0.00"}


def sek(ore: int | None, locale: str | Locale | None = None) -> str:
    """Integer öre as Swedish kronor in the reader's language: ``8912000`` ->
    ``89 120,00 kr`` (Swedish) or ``SEK 89,120.00`` (English). For pages only: files
    that machines read (the BOSS+ export) have their own formatting."""
    if ore is None:
        return ""
    loc = Locale.parse(locale or "sv_SE")
    pattern = _MONEY_PATTERNS.get(loc.language)
    return format_currency(Decimal(ore).scaleb(-2), "SEK", format=pattern, locale=loc)


def capped_count(n: int, locale: str | Locale | None = None) -> str:
    """A tab's count in the reader's language; beyond ``COUNT_CAP`` (the most a tab counts,
    ``shared.core.lists``) the cap and a plus: ``1 000+`` (Swedish), ``1,000+`` (English)."""
    loc = Locale.parse(locale or "sv_SE")
    if n > COUNT_CAP:
        return f"{format_decimal(COUNT_CAP, locale=loc)}+"
    return format_decimal(n, locale=loc)


def pnr(digits12: str | None, full: bool = False) -> str:
    if not digits12:
        return ""
    return f"{digits12[:8]}-{digits12[8:]}" if full else mask(digits12)


def local_dt(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def iso_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(STOCKHOLM).date()
    return value.isoformat()


_HEADING = re.compile(r"^(#{1,3}) +(.+)$")
_ITEM = re.compile(r"^\+ +(.*)$")


def simple_markdown(text: str | None, *, top: int = 3) -> Markup:
    """A BankID ``simpleMarkdownV1`` text (the fullmakt as signed) as HTML: ``#`` becomes
    ``<h{top}>`` (``##`` one level below ...), ``+ `` a list item, other lines paragraphs.
    Every piece of text is escaped first, so nothing in it can become markup."""
    html: list[Markup] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            html.append(
                Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in paragraph))
            )
            paragraph.clear()
        if items:
            html.append(
                Markup("<ul>{}</ul>").format(
                    Markup("").join(Markup("<li>{}</li>").format(item) for item in items)
                )
            )
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


ROLE_LABELS = {
    Role.COUNSELLOR: _l("Budget- och skuldrådgivare"),
    Role.MUNICIPALITY_ADMIN: _l("Administratör, kommun"),
    Role.CREDITOR_AGENT: _l("Handläggare, borgenär"),
    Role.CREDITOR_ADMIN: _l("Administratör, borgenär"),
    Role.PLATFORM_OPERATOR: _l("Plattformsoperatör"),
}


def role_label(role: Role | str) -> str:
    return str(ROLE_LABELS.get(Role(role), role))


ORG_KIND_LABELS = {
    OrgKind.MUNICIPALITY: _l("Kommun"),
    OrgKind.CREDITOR: _l("Borgenär"),
    OrgKind.AGENCY: _l("Inkassobolag"),
    OrgKind.PLATFORM: _l("Plattformen"),
}
CHANNEL_LABELS = {Channel.API: _l("API"), Channel.WEB: _l("Webb"), Channel.MANUAL: _l("Post")}


def org_kind_label(kind: OrgKind | str) -> str:
    return str(ORG_KIND_LABELS.get(OrgKind(kind), kind))


def channel_label(channel: Channel | str) -> str:
    return str(CHANNEL_LABELS.get(Channel(channel), channel))


# The rules keep Swedish labels (marked with N_, so they are in the catalog); they are
# translated here, when shown. An unknown key is shown as it is.
def debt_kind(key: str) -> str:
    return _(KIND_LABELS[key]) if key in KIND_LABELS else key


def debt_status(key: str) -> str:
    return _(STATUS_LABELS[key]) if key in STATUS_LABELS else key


def budget_category(key: str) -> str:
    return _(CATEGORY_LABELS[key]) if key in CATEGORY_LABELS else key


def init_app(app: Flask) -> None:
    app.add_template_filter(role_label, "role")
    app.add_template_filter(org_kind_label, "org_kind")
    app.add_template_filter(channel_label, "channel")
    app.add_template_filter(debt_kind, "debt_kind")
    app.add_template_filter(debt_status, "debt_status")
    app.add_template_filter(budget_category, "budget_category")
    app.add_template_filter(simple_markdown, "simple_markdown")
    app.add_template_filter(lambda ore: sek(ore, get_locale() or "sv_SE"), "sek")
    app.add_template_filter(lambda n: capped_count(n, get_locale() or "sv_SE"), "capped")
    app.add_template_filter(pnr, "pnr")
    app.add_template_filter(local_dt, "datetime")
    app.add_template_filter(iso_date, "date")
