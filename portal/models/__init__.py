"""The portal's data model, one module per aggregate."""

from portal.models.account import Account, AccountRole, AccountSession, ApiToken
from portal.models.area import KINDS, Area, AreaVersion, Level
from portal.models.audit import AuditEntry, LoginFailure
from portal.models.boundary import (
    AreaPart,
    AreaShape,
    BoundaryChange,
    BoundaryFlag,
    ImportBatch,
    ImportFeature,
    ImportProblem,
)
from portal.models.coverage import CoverageCommune, CoverageProblem, CoverageVillage
from portal.models.emulation import EmulationCriterion
from portal.models.incident import (
    INCIDENT_KINDS,
    TEAM_KINDS,
    TIP_KINDS,
    Incident,
    IncidentPhoto,
    LocatedBy,
    Source,
    Status,
    TipContact,
    TipLimit,
)
from portal.models.job import Job, JobFile
from portal.models.lookup import LookupGeneration  # issue 16: fast look-up
from portal.models.patrol import (
    VIOLATION_KINDS,
    DutyRule,
    Patrol,
    PatrolActivity,
    PatrolFinding,
    PatrolMember,
    PatrolRoute,
    PatrolRules,
    PatrolStatus,
    PatrolTrack,
    RouteVersion,
)
from portal.models.police import PoliceContact
from portal.models.review import ReviewCommunes, ReviewIncidents, ReviewPatrols
from portal.models.street import Street
from portal.models.team import Education, Member, Role, SizingRule, Team, TeamArea
from portal.models.tiles import TileGeneration  # issue 17: vector tiles

__all__ = [
    "INCIDENT_KINDS",
    "KINDS",
    "TEAM_KINDS",
    "TIP_KINDS",
    "VIOLATION_KINDS",
    "Account",
    "AccountRole",
    "AccountSession",
    "ApiToken",
    "Area",
    "AreaPart",
    "AreaShape",
    "AreaVersion",
    "AuditEntry",
    "BoundaryChange",
    "BoundaryFlag",
    "CoverageCommune",
    "CoverageProblem",
    "CoverageVillage",
    "DutyRule",
    "Education",
    "EmulationCriterion",
    "ImportBatch",
    "ImportFeature",
    "ImportProblem",
    "Incident",
    "IncidentPhoto",
    "Job",
    "JobFile",
    "Level",
    "LocatedBy",
    "LoginFailure",
    "LookupGeneration",
    "Member",
    "Patrol",
    "PatrolActivity",
    "PatrolFinding",
    "PatrolMember",
    "PatrolRoute",
    "PatrolRules",
    "PatrolStatus",
    "PatrolTrack",
    "PoliceContact",
    "ReviewCommunes",
    "ReviewIncidents",
    "ReviewPatrols",
    "Role",
    "RouteVersion",
    "SizingRule",
    "Source",
    "Status",
    "Street",
    "Team",
    "TeamArea",
    "TileGeneration",
    "TipContact",
    "TipLimit",
]
