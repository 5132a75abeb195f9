"""The data model, split by feature; import from here."""


from geocrm.models.accounts import Account, Contact, Stage, Tag, account_tags
from geocrm.models.activity import (
    Interaction,
    InteractionKind,
    Opportunity,
    OpportunityStage,
    Task,
    TaskStatus,
)
from geocrm.models.notify import Notification, PushSubscription
from geocrm.models.planning import PlanStatus, RoutePlan, RouteStop
from geocrm.models.records import AssignmentHistory, AuditEntry, ImportBatch
from geocrm.models.territories import Territory, territory_reps
from geocrm.models.types import Geometry, utcnow
from geocrm.models.users import AccessLink, CalendarFeed, LoginAttempt, Role, User, UserSession

__all__ = [
    "AccessLink",
    "Account",
    "AssignmentHistory",
    "CalendarFeed",
    "AuditEntry",
    "Contact",
    "Geometry",
    "ImportBatch",
    "Interaction",
    "InteractionKind",
    "LoginAttempt",
    "Opportunity",
    "OpportunityStage",
    "Notification",
    "PlanStatus",
    "PushSubscription",
    "Role",
    "RoutePlan",
    "RouteStop",
    "Stage",
    "Tag",
    "Task",
    "TaskStatus",
    "Territory",
    "User",
    "UserSession",
    "account_tags",
    "territory_reps",
    "utcnow",
]

# Feature modules register their tables; imported last so they may import from here.
from geocrm.models import (  # noqa: E402,F401
    crm,
    daily,
    field,
    geocoding,
    provenance,
    territory_admin,
    webhooks,
)
