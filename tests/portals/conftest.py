"""Fixtures for portal tests of a counselling case."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.counselling.models import Case
from shared.identity.models import Channel, Creditor, Organisation, OrgKind, Role, User
from tests.factories import login_staff, register, sign
from tests.factories.worlds import World


@dataclass
class CaseWorld(World):
    """Anna Berg, counsellor in Skövde, signed in, with Erik Andersson's signed case; a
    web creditor and a postal one in the directory."""

    municipality: Organisation
    anna: User
    case: Case
    web: Creditor
    post: Creditor
    app: Flask
    client: FlaskClient


@pytest.fixture
def world(db, factories, make_app) -> CaseWorld:
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
    return CaseWorld(
        municipality=municipality, anna=anna, case=case, web=web, post=post, app=app, client=client
    )
