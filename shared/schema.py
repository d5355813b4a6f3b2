"""Every table of every domain, for Alembic, the CLI, the worker and the tests: importing
this module registers all models (the tenant scope and relationships need them all)."""

from shared.core.heartbeat import Heartbeat
from shared.core.mail import EmailMessage
from shared.core.models import Base
from shared.core.outbox import OutboxMessage
from shared.counselling import models as counselling
from shared.creditor_link import models as creditor_link
from shared.identity import models as identity
from shared.security.models import AuditEntry, DataKey

metadata = Base.metadata

__all__ = [
    "AuditEntry",
    "Base",
    "DataKey",
    "EmailMessage",
    "Heartbeat",
    "OutboxMessage",
    "counselling",
    "creditor_link",
    "identity",
    "metadata",
]
