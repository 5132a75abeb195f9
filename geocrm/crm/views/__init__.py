"""CRM core pages (issue 6). Thin views over ``geocrm.crm`` services.

Every view is ``roles_required`` (log-in included), every form posts with its CSRF token
(Flask-WTF's ``CSRFProtect`` checks it app-wide) and every lookup is scoped by the
services: another territory's account, task, opportunity or segment answers 404.

The blueprint and the helpers its pages share are in :mod:`~geocrm.crm.views.blueprint`; the
routes are grouped by page: :mod:`~geocrm.crm.views.account_actions` (the 360 page's actions,
the task list), :mod:`~geocrm.crm.views.pipeline`, :mod:`~geocrm.crm.views.duplicates`
(duplicates and merge), :mod:`~geocrm.crm.views.health`, :mod:`~geocrm.crm.views.segments` and
:mod:`~geocrm.crm.views.reports`. Importing this package registers all of them on ``bp``.
"""

from __future__ import annotations

from geocrm.crm.views import account_actions, duplicates, health, pipeline, reports, segments  # noqa: F401  (each module adds its routes to bp)
from geocrm.crm.views.blueprint import bp

__all__ = ["bp"]
