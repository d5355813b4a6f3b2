"""Who acts: organisations (tenants) and the creditor directory, staff users, citizens,
API keys and BankID orders."""

from shared.identity.models.api_key import ApiKey
from shared.identity.models.bankid import BankIdOrder
from shared.identity.models.organisation import Channel, Creditor, Organisation, OrgKind
from shared.identity.models.person import Person
from shared.identity.models.user import ROLE_ORG_KINDS, Role, SignInThrottle, User

__all__ = [
    "ROLE_ORG_KINDS",
    "ApiKey",
    "BankIdOrder",
    "Channel",
    "Creditor",
    "OrgKind",
    "Organisation",
    "Person",
    "Role",
    "SignInThrottle",
    "User",
]
