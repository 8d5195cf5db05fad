"""Creating accounts, changing their role and scope, disabling them, resetting passwords.

Only city admins may: every lookup goes through the scope, so anyone else finds nothing (404).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from portal import audit
from portal.accounts import queries
from portal.auth.passwords import hash_password, weakness
from portal.auth.services import MIN_LENGTH, PASSWORD_PROBLEMS, create_account, keep_session
from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import N_, _, label
from portal.inputs import to_id, too_long
from portal.models import Account, AccountRole, Area, Team
from portal.pagination import Page, paginate
from portal.security import current_account, current_scope
from portal.text import nfc
from portal.tokens import services as tokens

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
ROLE_LABELS = {
    AccountRole.ADMIN: N_("Quản trị thành phố"),
    AccountRole.COMMUNE_OFFICER: N_("Cán bộ xã, phường"),
    AccountRole.TEAM_LEADER: N_("Tổ trưởng"),
}


def role_label(role: str) -> str:
    return label(ROLE_LABELS, role)


@dataclass
class AccountForm:
    """What the account form submits, as typed."""

    username: str = ""
    full_name: str = ""
    role: str = ""
    commune_id: int | None = None
    team_id: int | None = None
    password: str = ""

    @classmethod
    def from_form(cls, form) -> AccountForm:
        return cls(
            username=form.get("username", "").strip().lower(),
            full_name=nfc(form.get("full_name", "")),  # composed, spaces collapsed, as stored
            role=form.get("role", ""),
            commune_id=to_id(form.get("commune_id")),
            team_id=to_id(form.get("team_id")),
            password=form.get("password", ""),
        )

    @classmethod
    def from_account(cls, account: Account) -> AccountForm:
        commune_id = account.commune_id or (account.team.commune_id if account.team else None)
        return cls(account.username, account.full_name, account.role, commune_id, account.team_id)


def _require_admin() -> None:
    current_scope().require("admin")


def list_accounts(text: str = "", page: int = 1) -> Page:
    _require_admin()
    return paginate(queries.accounts(current_scope(), text.strip()), page)


def get_account(account_id: int) -> Account:
    account = db.session.scalar(queries.account(account_id, current_scope()))
    if account is None:
        raise NotFound(_("Không tìm thấy tài khoản số {id}.", id=account_id))
    return account


def history(account_id: int, page: int = 1) -> tuple[Account, Page]:
    account = get_account(account_id)
    return account, paginate(audit.history("account", account.id), page)


def choices(commune_id: int | None) -> tuple[list[Area], list[Team]]:
    """Communes, and the teams of the chosen commune, for the form's selects."""
    _require_admin()  # the form itself is the admin's: no one else sees the empty form either
    scope = current_scope()
    communes = list(db.session.scalars(queries.communes(scope)))
    teams = (
        list(db.session.scalars(queries.teams_of_commune(commune_id, scope))) if commune_id else []
    )
    return communes, teams


def _check_scope(form: AccountForm, errors: dict[str, str]) -> tuple[int | None, int | None]:
    """The commune and team the role needs, checked to exist; (commune_id, team_id) to store."""
    if form.role not in set(AccountRole):
        errors["role"] = _("Chọn một vai trò.")
        return None, None
    if form.role == AccountRole.ADMIN:
        return None, None
    scope = current_scope()
    commune = None
    if form.commune_id:
        commune = db.session.scalar(queries.communes(scope).where(Area.id == form.commune_id))
    if commune is None:
        errors["commune_id"] = _("Chọn xã, phường của tài khoản.")
        return None, None
    if form.role == AccountRole.COMMUNE_OFFICER:
        return commune.id, None
    team = None
    if form.team_id:
        team = db.session.scalar(
            queries.teams_of_commune(commune.id, scope).where(Team.id == form.team_id)
        )
    if team is None:
        errors["team_id"] = _("Chọn tổ của tổ trưởng (một tổ thuộc xã, phường đã chọn).")
        return None, None
    return None, team.id


def _password_error(password: str, username: str) -> str | None:
    problem = weakness(password, username)
    return _(PASSWORD_PROBLEMS[problem], n=MIN_LENGTH) if problem else None


def create(form: AccountForm) -> Account:
    _require_admin()
    errors: dict[str, str] = {}
    if not USERNAME.match(form.username):
        errors["username"] = _(
            "Tên đăng nhập gồm 3–40 chữ cái không dấu, số, dấu chấm, gạch ngang hoặc gạch dưới."
        )
    elif db.session.scalar(queries.username_taken(form.username)):
        errors["username"] = _("Tên đăng nhập này đã có người dùng.")
    if not form.full_name:
        errors["full_name"] = _("Nhập họ tên.")
    commune_id, team_id = _check_scope(form, errors)
    if problem := _password_error(form.password, form.username):
        errors["password"] = problem
    errors = too_long(asdict(form), Account) | errors
    if errors:
        raise FormInvalid(errors)
    account = create_account(
        form.username,
        form.password,
        form.full_name,
        AccountRole(form.role),
        commune_id=commune_id,
        team_id=team_id,
    )
    db.session.commit()
    return account


def update(account_id: int, form: AccountForm) -> Account:
    """Change the full name, role and scope."""
    account = get_account(account_id)
    errors: dict[str, str] = {}
    if not form.full_name:
        errors["full_name"] = _("Nhập họ tên.")
    commune_id, team_id = _check_scope(form, errors)
    if account.id == current_account().id and form.role != AccountRole.ADMIN:
        errors["role"] = _("Bạn không thể tự bỏ quyền quản trị của mình.")
    errors = too_long({"full_name": form.full_name}, Account) | errors  # the name changes
    if errors:
        raise FormInvalid(errors)
    account.full_name = form.full_name
    account.role = form.role
    account.commune_id = commune_id
    account.team_id = team_id
    db.session.commit()
    return account


def set_active(account_id: int, active: bool) -> Account:
    account = get_account(account_id)
    if not active and account.id == current_account().id:
        raise FormInvalid({"active": _("Bạn không thể tự khóa tài khoản của mình.")})
    account.is_active = active
    db.session.commit()
    return account


def set_password(account: Account, password: str) -> None:
    """A new password, already checked against the policy; the account's open sessions and its
    API tokens end, in the caller's transaction (also `flask set-password`)."""
    account.password_hash = hash_password(password)
    account.session_epoch += 1
    tokens.revoke_all(account)  # a token made by whoever held the account ends with it too


def reset_password(account_id: int, password: str) -> Account:
    """Set a new password; the account's open sessions and its API tokens end."""
    account = get_account(account_id)
    if problem := _password_error(password, account.username):
        raise FormInvalid({"password": problem})
    set_password(account, password)
    db.session.commit()
    if account.id == current_account().id:
        keep_session(account)  # the admin who reset their own password stays signed in
    return account
