"""Extensions, created unbound and attached to the app in create_app()."""

from flask_htmx import HTMX
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from portal.compression import MaskedCSRFProtect
from portal.replica import RoutingSession


class Base(DeclarativeBase):
    # Named constraints so that hand-written migrations can refer to them.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# public reads may go to a streaming replica (portal/replica.py, issue 16)
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
csrf = MaskedCSRFProtect()  # reads the per-response masked tokens (BREACH)
htmx = HTMX()
talisman = Talisman()
