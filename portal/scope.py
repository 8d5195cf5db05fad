"""What each account may see, applied where queries are built.

Every query that returns areas, teams, members or accounts to a user goes through a Scope, so
an id outside the user's scope simply finds nothing and the caller answers 404, whatever the
URL or method. Roles: city admin (everything), commune officer (one commune), team leader
(one team, and its commune as the way in), public (none of these: citizen pages use their own
public queries).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, false, or_, select

from portal.errors import MESSAGES, NotFound
from portal.extensions import db
from portal.i18n import _
from portal.models import Account, AccountRole, Area, Incident, Member, Team, TeamArea


@dataclass(frozen=True)
class Scope:
    role: str | None
    account_id: int | None = None
    commune_id: int | None = None
    team_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == AccountRole.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role is not None

    def require(self, *roles: str) -> None:
        """The pages of a role one does not hold answer 404, as an id outside one's scope does:
        a team leader learns no more from /accounts/ than from another commune's team."""
        if self.role not in roles:
            raise NotFound(_(MESSAGES[404]))

    def _covered_areas(self) -> Select:
        """The villages the leader's team covers today."""
        return select(TeamArea.area_id).where(
            TeamArea.team_id == self.team_id,
            TeamArea.active(),
        )

    def covered_areas(self) -> Select:
        """The villages a team leader's team covers today (they change by the calendar)."""
        return self._covered_areas()

    def areas(self, query: Select) -> Select:
        """Restrict a query over Area to the areas in scope."""
        if self.is_admin:
            return query
        if self.role == AccountRole.COMMUNE_OFFICER:
            return query.where(or_(Area.id == self.commune_id, Area.parent_id == self.commune_id))
        if self.role == AccountRole.TEAM_LEADER:
            return query.where(or_(Area.id == self.commune_id, Area.id.in_(self._covered_areas())))
        return query.where(false())

    def root_filter(self):
        """Where the area tree starts for this account."""
        if self.is_admin:
            return Area.parent_id.is_(None)
        return Area.id == self.commune_id

    def teams(self, query: Select) -> Select:
        """Restrict a query over Team to the teams in scope."""
        if self.is_admin:
            return query
        if self.role == AccountRole.COMMUNE_OFFICER:
            return query.where(Team.commune_id == self.commune_id)
        if self.role == AccountRole.TEAM_LEADER:
            return query.where(Team.id == self.team_id)
        return query.where(false())

    def members(self, query: Select) -> Select:
        return query.where(Member.team_id.in_(self.teams(select(Team.id))))

    def team_rows(self, query: Select, model) -> Select:
        """Restrict a query over a team's rows (routes, patrols: any model with team_id and
        commune_id) to the teams in scope."""
        if self.is_admin:
            return query
        if self.role == AccountRole.COMMUNE_OFFICER:
            return query.where(model.commune_id == self.commune_id)
        if self.role == AccountRole.TEAM_LEADER:
            return query.where(model.team_id == self.team_id)
        return query.where(false())

    def incidents(self, query: Select, model=Incident) -> Select:
        """Restrict a query over Incident (or an alias of it, `model`): an officer's commune, a
        leader's team and villages."""
        if self.is_admin:
            return query
        if self.role == AccountRole.COMMUNE_OFFICER:
            return query.where(model.commune_id == self.commune_id)
        if self.role == AccountRole.TEAM_LEADER:
            # the team's few villages as a list: with a subquery inside the OR, PostgreSQL read
            # every incident of the city; with values, it reads the two indexes
            villages = db.session.scalars(self._covered_areas()).all()
            return query.where(or_(model.team_id == self.team_id, model.area_id.in_(villages)))
        return query.where(false())

    @property
    def sees_contacts(self) -> bool:
        """Only the commune's officers read how a reporter asked to be contacted."""
        return self.role == AccountRole.COMMUNE_OFFICER

    def accounts(self, query: Select) -> Select:
        """Only city admins manage accounts."""
        return query if self.is_admin else query.where(false())


PUBLIC = Scope(role=None)


def scope_for(account: Account | None) -> Scope:
    if account is None:
        return PUBLIC
    commune_id = account.commune_id
    if account.role == AccountRole.TEAM_LEADER and account.team is not None:
        commune_id = account.team.commune_id
    return Scope(account.role, account.id, commune_id, account.team_id)
