"""Fixtures for portal tests of a counselling case."""

from __future__ import annotations

import pytest

from shared.identity.models import Channel, Creditor, OrgKind, Role
from tests.conftest import login_staff
from tests.integration.test_cases import register, sign


@pytest.fixture
def world(db, factories, make_app):
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    anna = factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")
    case = register(db, anna).case
    sign(db, case)
    web = Creditor(name="Nordisk Inkasso AB", channel=Channel.WEB, email="in@example.se")
    post = Creditor(name="CSN", channel=Channel.MANUAL, postal_address="851 82 Sundsvall")
    db.add_all([web, post])
    db.commit()
    app = make_app("counsellor")
    client = app.test_client()
    login_staff(client, anna)
    return {
        "anna": anna,
        "case": case,
        "web": web,
        "post": post,
        "client": client,
        "app": app,
        "municipality": municipality,
    }
