"""Access policy: every route declares who may use it.

    @bp.get("/cases/<uuid:case_id>")
    @access(staff(Role.COUNSELLOR))
    def show_case(case_id): ...

The portal factory checks the declared rule before every request and refuses a route
that declares none (fail closed). Rules compose: ``staff(...)``, ``citizen()``,
``PUBLIC``, ``demo_only(rule)``, and object-bound rules that receive the view
arguments: ``case_owner()``, ``municipality_case()``, ``fullmakt_holder()``. These load
their object once, answer 404 when it is not the reader's, and hand it to the view:

    @bp.get("/cases/<uuid:case_id>")
    @access(case_owner())
    def show(case_id):
        case = loaded("case")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g
from flask_login import current_user
from werkzeug.exceptions import NotFound

from shared.identity.models import Role


@dataclass(frozen=True)
class Rule:
    name: str
    login: str | None  # None (public), "staff" or "citizen": who must be signed in
    predicate: Callable[[Any, dict[str, Any]], bool] = field(
        default=lambda principal, view_args: True, compare=False
    )
    # Authenticated by the request itself (an API key), not by the session cookie.
    stateless: bool = False

    def allows(self, principal: Any, view_args: dict[str, Any]) -> bool:
        if self.login is not None and (
            not principal.is_authenticated or principal.kind != self.login
        ):
            return False
        return self.predicate(principal, view_args)

    def __str__(self) -> str:
        return self.name


PUBLIC = Rule("public", None)


def staff(*roles: Role) -> Rule:
    """Signed-in staff with one of ``roles`` (any staff role if none are given).
    Their queries are scoped to their own organisation."""
    allowed = frozenset(roles)

    def check(principal, _args):
        return not allowed or principal.user.role in allowed

    label = ",".join(sorted(r.value for r in allowed)) or "any"
    return Rule(f"staff({label})", "staff", check)


def _load(name: str, value: Any) -> bool:
    """Keep what a rule loaded for the view (``loaded(name)``); 404 when there is none:
    not even the existence of someone else's object is revealed."""
    if value is None:
        raise NotFound()
    g.setdefault("loaded", {})[name] = value
    return True


def loaded(name: str) -> Any:
    """The object the route's access rule loaded for this request (``"case"``,
    ``"fullmakt"``): loaded once, scoped to the reader."""
    objects = g.get("loaded") or {}
    if name not in objects:
        raise LookupError(f"the route's access rule loaded no {name!r}")
    return objects[name]


def case_owner(arg: str = "case_id") -> Rule:
    """The counsellor who owns the case named by the view argument ``arg``; the case is
    ``loaded("case")``. Colleagues, other municipalities and admins get a 404 - not even
    the existence of someone else's case is revealed."""

    def check(principal, args):
        from shared.counselling.queries import case_of_counsellor
        from shared.web.factory import db_session

        if principal.user.role != Role.COUNSELLOR:
            return False
        return _load("case", case_of_counsellor(db_session(), principal.user, args[arg]))

    return Rule(f"case_owner({arg})", "staff", check)


def municipality_case(arg: str = "case_id") -> Rule:
    """The municipality admin, for a case of their own municipality (``loaded("case")``);
    any other case is a 404."""

    def check(principal, args):
        from shared.counselling.queries import case_of_municipality
        from shared.web.factory import db_session

        if principal.user.role != Role.MUNICIPALITY_ADMIN:
            return False
        return _load("case", case_of_municipality(db_session(), principal.user, args[arg]))

    return Rule(f"municipality_case({arg})", "staff", check)


def managed_staff(*roles: Role, arg: str = "user_id") -> Rule:
    """An admin with one of ``roles``, for a member of staff they manage (their own
    organisation's, in a role they give; the platform operator: an organisation's admin),
    ``loaded("member")``; anyone else is a 404."""
    allowed = frozenset(roles)

    def check(principal, args):
        from shared.identity.staff_admin import staff_member
        from shared.web.factory import db_session

        if principal.user.role not in allowed:
            return False
        return _load("member", staff_member(db_session(), principal.user, args[arg]))

    label = ",".join(sorted(r.value for r in allowed))
    return Rule(f"managed_staff({label};{arg})", "staff", check)


def fullmakt_holder(arg: str = "fullmakt_id") -> Rule:
    """The citizen whose fullmakt is named by ``arg`` (``loaded("fullmakt")``); anyone
    else's is a 404."""

    def check(principal, args):
        from shared.counselling.queries import fullmakt_of_person
        from shared.web.factory import db_session

        return _load("fullmakt", fullmakt_of_person(db_session(), principal.person, args[arg]))

    return Rule(f"fullmakt_holder({arg})", "citizen", check)


def case_client(arg: str = "case_id") -> Rule:
    """The citizen whose own case is named by ``arg`` (``loaded("case")``); anyone else's
    is a 404."""

    def check(principal, args):
        from shared.counselling.queries import case_of_person
        from shared.web.factory import db_session

        return _load("case", case_of_person(db_session(), principal.person, args[arg]))

    return Rule(f"case_client({arg})", "citizen", check)


def citizen() -> Rule:
    """A citizen signed in with BankID (acting only on their own data)."""
    return Rule("citizen", "citizen")


def demo_only(rule: Rule) -> Rule:
    def check(principal, args):
        return current_app.config["SETTINGS"].demo and rule.predicate(principal, args)

    return Rule(f"demo_only({rule.name})", rule.login, check)


def access(rule: Rule) -> Callable:
    def decorate(view):
        view.access_rule = rule
        return view

    return decorate


def rule_for(view: Callable | None) -> Rule | None:
    return getattr(view, "access_rule", None)


def is_static_endpoint(endpoint: str) -> bool:
    return endpoint == "static" or endpoint.endswith(".static")


def current_principal():
    return current_user
