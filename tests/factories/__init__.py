"""Test factories and helpers, bound to the test session. Tests import helpers from
here (or from ``tests/e2e/flows.py``), never from another test module.

- ``models``: factory_boy factories (organisation, user, person, case, fullmakt, creditor
  directory entry, inquiry, debt) and ``Factories``, the ``factories`` fixture's object;
- ``flows``: steps through the real services (register, sign, directory_entry, send);
- ``auth``: signing a test client in through the portal's own sign-in;
- ``SUITE_NOW``: where the suite's business clock stands unless a test moves it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core import clock, jobs
from shared.core.outbox import OutboxMessage
from shared.counselling import retention
from shared.creditor_link import fullmakt_events

from .auth import carry_session, login_citizen, login_staff, next_totp_code
from .database import ROOT
from .facade import Factories
from .flows import ERIK, OTHERS, Receiver, directory_entry, register, send, sign
from .models import (
    CaseFactory,
    CreditorFactory,
    DebtFactory,
    FullmaktFactory,
    InquiryFactory,
    OrganisationFactory,
    PersonFactory,
    UserFactory,
    bound_to,
)
from .passwords import PASSWORD
from .redis_server import RedisServer
from .services import need_service

# Half past midnight in Sweden, still the day before in UTC (and in the previous month):
# a test that takes a UTC date for a Swedish one fails on every run, not one evening in
# twelve. The autouse fixture in tests/conftest.py freezes the business clock here.
SUITE_NOW = clock.at("2026-12-01 00:30")

__all__ = [
    "ROOT",
    "ERIK",
    "OTHERS",
    "PASSWORD",
    "SUITE_NOW",
    "CaseFactory",
    "CreditorFactory",
    "DebtFactory",
    "Factories",
    "FullmaktFactory",
    "InquiryFactory",
    "OrganisationFactory",
    "PersonFactory",
    "RedisServer",
    "Receiver",
    "UserFactory",
    "bound_to",
    "carry_session",
    "directory_entry",
    "fullmakt_deadlines",
    "invitation_link",
    "invitation_links",
    "login_citizen",
    "login_staff",
    "need_service",
    "next_totp_code",
    "purge_case",
    "register",
    "run_jobs",
    "send",
    "sign",
]


def fullmakt_deadlines(session: Session, at: datetime) -> dict[str, int]:
    """The daily fullmakt sweep at ``at``, as the worker runs it."""
    return retention.process_deadlines(session, at, before_purge=fullmakt_events.before_purge)


def purge_case(session: Session, case, reason: str) -> None:
    retention.purge(session, case, reason, before_purge=fullmakt_events.before_purge)


def run_jobs(session: Session, *names: str) -> int:
    """The worker's part: commit, then run the queued jobs of these names (not all of them:
    a webhook delivery would go out on the network). Returns how many ran."""
    session.commit()
    pending = session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.job.in_(names), OutboxMessage.done_at.is_(None))
        .order_by(OutboxMessage.created_at)
    ).all()
    for msg_id in pending:
        assert jobs.run_message(msg_id) == "done"
    session.expire_all()
    return len(pending)


INVITATION_LINK = re.compile(r"https?://[^/\s]+(/\S+/invitation/\S+)")


def invitation_links(session: Session, email: str) -> set[str]:
    """The paths (``/<portal>/invitation/…``) of every invitation e-mailed to ``email``."""
    from shared.core.mail import EmailMessage

    messages = session.scalars(select(EmailMessage).where(EmailMessage.kind == "user.invitation"))
    links = set()
    for message in messages:
        if message.to == email:
            match = INVITATION_LINK.search(message.body)
            assert match, "an invitation without a link"
            links.add(match.group(1))
    return links


def invitation_link(session: Session, email: str) -> str:
    """The path of the one invitation e-mailed to ``email``."""
    (link,) = invitation_links(session, email)
    return link


def redirect_target(response) -> str:
    """Where a redirect points: ``Location`` (303), ``HX-Redirect`` (a full reload) or
    ``HX-Location`` (an htmx navigation; JSON with a ``path``, or a plain path)."""
    if location := response.headers.get("HX-Location"):
        return json.loads(location)["path"] if location.startswith("{") else location
    return response.headers.get("HX-Redirect") or response.headers["Location"]


# Every URL a page links, posts or points htmx to.
URL_ATTRIBUTE = re.compile(r'(?:href|action|hx-get|hx-post|hx-push-url|src)="([^"]*)"')


def urls_in(html: str) -> list[str]:
    """Every URL the page links, posts or points htmx to."""
    return URL_ATTRIBUTE.findall(html)
