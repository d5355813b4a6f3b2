"""Access policy: every route declares who may use it.

    @bp.get("/cases/<uuid:case_id>")
    @access(staff(Role.COUNSELLOR))
    def show_case(case_id): ...

The portal factory checks the declared rule before every request and refuses a route
that declares none (fail closed). Rules compose: ``staff(...)``, ``citizen()``,
``PUBLIC``, ``demo_only(rule)``; later issues add case- and claim-bound rules that
receive the view arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
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


def case_owner(arg: str = "case_id") -> Rule:
    """The counsellor who owns the case named by the view argument ``arg``. Colleagues,
    other municipalities and admins get a 404 (``load_case`` in the view) - not even
    the existence of someone else's case is revealed."""

    def check(principal, args):
        from shared.counselling.queries import case_of_counsellor
        from shared.identity.models import Role
        from shared.web.factory import db_session

        if principal.user.role != Role.COUNSELLOR:
            return False
        if case_of_counsellor(db_session(), principal.user, args[arg]) is None:
            raise NotFound()
        return True

    return Rule(f"case_owner({arg})", "staff", check)


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
