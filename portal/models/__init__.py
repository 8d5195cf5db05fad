"""The portal's data model, one module per aggregate."""

from portal.models.account import Account, AccountRole
from portal.models.area import KINDS, Area, AreaVersion, Level
from portal.models.audit import AuditEntry, LoginFailure
from portal.models.team import Education, Member, Role, SizingRule, Team, TeamArea

__all__ = [
    "KINDS",
    "Account",
    "AccountRole",
    "Area",
    "AreaVersion",
    "AuditEntry",
    "Education",
    "Level",
    "LoginFailure",
    "Member",
    "Role",
    "SizingRule",
    "Team",
    "TeamArea",
]
