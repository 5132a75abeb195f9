"""Unbound Flask extensions, bound to an app by :func:`geocrm.create_app`.

Keeping them here (not in ``__init__``) lets models, services and blueprints import
them without importing the factory, which avoids import cycles.
"""

from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by every model (typed SQLAlchemy 2 style)."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
