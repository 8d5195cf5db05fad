"""The portal's data model, one module per aggregate."""

from portal.models.account import Account, AccountRole
from portal.models.area import KINDS, Area, AreaVersion, Level
from portal.models.team import Education, Member, Role, SizingRule, Team, TeamArea

__all__ = [
    "KINDS",
    "Account",
    "AccountRole",
    "Area",
    "AreaVersion",
    "Education",
    "Level",
    "Member",
    "Role",
    "SizingRule",
    "Team",
    "TeamArea",
]
