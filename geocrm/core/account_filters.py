"""Which accounts a list shows: the filters of the account list, the territory map and the API.

One parsing of ``?q=&stage=&territory=&owner=&unassigned=`` and one translation into SQL, so
the list page, the map's points and ``/api/v1/accounts`` can never disagree about what a
filter means. It lives in the core because three features share it (the map used to import
it from the accounts feature, whose pages import the map: a cycle). Scoping is not here:
callers apply it to a statement already limited by :func:`geocrm.access.visible_accounts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, or_

from geocrm.core.names import account_search
from geocrm.errors import ValidationError
from geocrm.models import Account, Stage
from geocrm.params import to_ids


@dataclass
class AccountFilters:
    """What the list, the map and the API can filter on."""

    q: str = ""
    stages: list[str] = field(default_factory=list)
    territory_ids: list[int] = field(default_factory=list)
    owner_ids: list[int] = field(default_factory=list)
    unassigned: bool = False

    @classmethod
    def from_args(cls, args: Any) -> AccountFilters:
        """Parse request args; unknown stages or non-numeric ids are a 422 naming the field."""
        stages = [s for s in args.getlist("stage") if s]
        for s in stages:
            if s not in {m.value for m in Stage}:
                raise ValidationError("stage", f"unknown stage {s!r}")

        def ints(name: str) -> list[int]:
            return list(to_ids(args.getlist(name), name))

        return cls(
            q=(args.get("q") or "").strip()[:100],
            stages=stages,
            territory_ids=ints("territory"),
            owner_ids=ints("owner"),
            unassigned=args.get("unassigned") in {"1", "true", "on"},
        )

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        if self.q:
            stmt = stmt.where(account_search(self.q))
        if self.stages:
            stmt = stmt.where(Account.stage.in_([Stage(s) for s in self.stages]))
        if self.territory_ids or self.unassigned:
            conds = []
            if self.territory_ids:
                conds.append(Account.territory_id.in_(self.territory_ids))
            if self.unassigned:
                conds.append(Account.territory_id.is_(None))
            stmt = stmt.where(or_(*conds))
        if self.owner_ids:
            stmt = stmt.where(Account.owner_id.in_(self.owner_ids))
        return stmt
