"""The admin console: values, people, teams and departments, the directory
import, reports and moderation, the company overview and the audit log."""

from kudos.admin import groups, imports, overview, people, values, views  # noqa: F401 - routes
from kudos.admin.blueprint import bp

__all__ = ["bp"]
