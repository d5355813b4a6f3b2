"""SQLAlchemy 2.0 typed models, one module per aggregate."""

from shared.models.audit import AuditEntry
from shared.models.bankid import BankIdOrder
from shared.models.base import Base, TenantOwned
from shared.models.keys import DataKey
from shared.models.organisation import Organisation, OrgKind
from shared.models.outbox import OutboxMessage
from shared.models.person import Person
from shared.models.user import ROLE_ORG_KINDS, Role, User

__all__ = [
    "ROLE_ORG_KINDS",
    "AuditEntry",
    "BankIdOrder",
    "Base",
    "DataKey",
    "OrgKind",
    "Organisation",
    "OutboxMessage",
    "Person",
    "Role",
    "TenantOwned",
    "User",
]
