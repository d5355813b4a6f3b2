"""What every portal shares. Only this package imports Flask."""

from shared.web.factory import create_portal, db_session

__all__ = ["create_portal", "db_session"]
