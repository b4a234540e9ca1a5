"""Who may write what in the audit log's tables (PostgreSQL only).

- the app role (web, workers) may INSERT events and read the log, nothing else;
- the log role (the dispatcher) may also INSERT leaves and signed tree heads;
- nobody may UPDATE or DELETE any of them (triggers, which also bind the owner until it
  disables them; the verifier and the external anchors cover that case). TRUNCATE is left to
  the owner alone (test databases are flushed with it).
Applied by the core migrations, and again by tests that create roles of their own.
"""

from __future__ import annotations

LOG_TABLES = ("core_auditevent", "core_auditlogleaf", "core_signedtreehead")


def append_only_trigger_sql(table: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION core_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit log tables are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION core_audit_refuse_change();
"""


def _role_exists(cursor, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def audit_privileges_apply(cursor, *, app_role: str, log_role: str, quote) -> list[str]:
    """Revoke and grant on the log tables for the roles that exist; returns what was run."""
    statements = []
    if _role_exists(cursor, app_role):
        app = quote(app_role)
        statements += [
            f"REVOKE ALL ON core_auditevent, core_auditlogleaf, core_signedtreehead FROM {app}",
            f"GRANT SELECT, INSERT ON core_auditevent TO {app}",
            f"GRANT SELECT ON core_auditlogleaf, core_signedtreehead TO {app}",
        ]
    if _role_exists(cursor, log_role):
        log = quote(log_role)
        statements += [
            f"REVOKE ALL ON core_auditevent, core_auditlogleaf, core_signedtreehead FROM {log}",
            f"GRANT SELECT, INSERT ON core_auditevent, core_auditlogleaf, core_signedtreehead TO {log}",
        ]
    for statement in statements:
        cursor.execute(statement)
    return statements
