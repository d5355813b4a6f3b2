"""row-level security fails closed

Until now every policy began with "no organisation set: every row" (``app.org_id`` NULL
or empty), so a transaction that named no tenant (a job, a sign-in lookup, a bug) saw
and wrote every tenant's rows. Now a transaction sees a tenant's rows only for the
organisation it names (``app.org_id``), or all of them when it says it works across
tenants (``app.scope = 'system'``, set only inside ``shared.core.db.system_scope()``).
Without either it sees nothing.

Reads and writes are split where a creditor may read what it must not change: the
cases, fullmakter and counsellors behind the inquiries addressed to it (and the persons
of those cases) are SELECT-only for it; only the owning municipality writes them.

Policies also on the tables that had none: persons (through the cases one may see),
organisations and creditors (a directory every tenant reads, each writes its own),
bankid_orders (the BankID flow: system scope only), outbox and email_messages (any
transaction appends, only the system scope reads: the worker), audit_log (append and
read one's own organisation's entries; the chain's tail is read in the system scope).
data_keys has none: it holds only keys wrapped by the master key, which is not in the
database (docs/security.md, "Row-level security"). The correlated EXISTS probes of 0007
are kept.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 12:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


RAW = "current_setting('app.org_id', true)"
ORG = f"nullif({RAW}, '')"
SYSTEM = "coalesce(current_setting('app.scope', true), '') = 'system'"
MINE = f"organisation_id = {ORG}::uuid"
ANY_TENANT = f"{ORG} IS NOT NULL"
CREDITOR = f"(SELECT c.id FROM creditors c WHERE c.organisation_id = {ORG}::uuid)"


# OFFSET 0 keeps each EXISTS a per-row probe (see 0007).
def addressed(match: str) -> str:
    return (f"EXISTS (SELECT 1 FROM inquiries i WHERE i.creditor_id = {CREDITOR} "
            f"AND {match} OFFSET 0)")


# Tenant tables, one rule for reading and writing (as in 0002/0003/0007).
SAME = {
    "api_keys": MINE,
    "budget_entries": MINE,
    "inquiries": f"{MINE} OR creditor_id = {CREDITOR}",
    "debts": f"{MINE} OR {addressed('i.id = debts.inquiry_id')}",
    "fullmakt_subscriptions": (f"{MINE} OR EXISTS (SELECT 1 FROM fullmakter f WHERE "
                               f"f.id = fullmakt_subscriptions.fullmakt_id AND "
                               f"f.organisation_id = {ORG}::uuid)"),
    "webhook_endpoints": MINE,
    "webhook_deliveries": MINE,
    "webhook_attempts": MINE,
    "creditor_notices": MINE,
    "idempotency_records": MINE,
}
# Tenant tables a creditor reads but never writes: (read, write).
SPLIT = {
    "cases": (f"{MINE} OR {addressed('i.case_id = cases.id')}", MINE),
    "fullmakter": (f"{MINE} OR {addressed('i.fullmakt_id = fullmakter.id')}", MINE),
    "users": (f"{MINE} OR EXISTS (SELECT 1 FROM cases k WHERE k.counsellor_id = users.id "
              f"AND {addressed('i.case_id = k.id')} OFFSET 0)", MINE),
    # a person through the cases one may see (the cases' own policy applies inside);
    # a person is created only in the system scope (the population register is national)
    "persons": ("EXISTS (SELECT 1 FROM cases k WHERE k.person_id = persons.id OFFSET 0)",
                f"EXISTS (SELECT 1 FROM cases k WHERE k.person_id = persons.id "
                f"AND k.{MINE} OFFSET 0)"),
    # the directory: every tenant reads it, each writes its own entry
    "organisations": (ANY_TENANT, f"id = {ORG}::uuid"),
    "creditors": (ANY_TENANT, MINE),
}
NEW_TABLES = ("persons", "organisations", "creditors", "bankid_orders", "outbox",
              "email_messages", "audit_log")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in NEW_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for table, rule in SAME.items():
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({SYSTEM} OR {rule})")
    for table, (read, write) in SPLIT.items():
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING ({SYSTEM} OR {read})")
        op.execute(f"CREATE POLICY tenant_write ON {table} USING ({SYSTEM} OR {write})")
    # BankID orders belong to the (citizen) flow that started them: system scope only.
    op.execute(f"CREATE POLICY system_only ON bankid_orders USING ({SYSTEM})")
    # Queues: any transaction appends (a state change and its message commit together);
    # only the system scope (the worker, the dispatcher) reads and updates them.
    for table in ("outbox", "email_messages"):
        op.execute(f"CREATE POLICY append ON {table} FOR INSERT WITH CHECK (true)")
        op.execute(f"CREATE POLICY system_only ON {table} USING ({SYSTEM})")
    # The audit log: an organisation appends and reads its own entries; the chain (one
    # across tenants) is linked in the system scope. UPDATE and DELETE have no policy
    # (and a trigger refuses them even to the owner).
    op.execute(f"CREATE POLICY audit_read ON audit_log FOR SELECT USING ({SYSTEM} OR {MINE})")
    op.execute(f"CREATE POLICY audit_append ON audit_log FOR INSERT "
               f"WITH CHECK ({SYSTEM} OR {MINE})")


# 0007's policies, for the downgrade.
UNSCOPED = f"coalesce({RAW}, '') = ''"


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP POLICY audit_read ON audit_log")
    op.execute("DROP POLICY audit_append ON audit_log")
    for table in ("outbox", "email_messages"):
        op.execute(f"DROP POLICY append ON {table}")
        op.execute(f"DROP POLICY system_only ON {table}")
    op.execute("DROP POLICY system_only ON bankid_orders")
    for table, (read, _write) in SPLIT.items():
        op.execute(f"DROP POLICY tenant_read ON {table}")
        op.execute(f"DROP POLICY tenant_write ON {table}")
        if table in ("cases", "fullmakter", "users"):
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({UNSCOPED} OR {read})")
    for table, rule in SAME.items():
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({UNSCOPED} OR {rule})")
    for table in NEW_TABLES:
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
