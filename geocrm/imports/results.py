"""What an import did (or would do): counts, rejects, duplicates, and their CSV reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from geocrm.csvout import csv_string
from geocrm.imports import words


@dataclass
class Reject:
    """One reason a row cannot be imported."""

    row: int
    field: str
    reason: str
    value: str = ""


@dataclass
class Duplicate:
    """A row that is, or looks like, another row of the file or an existing account."""

    row: int
    rule: str  # external_id / merged_into / name_within_50m / address / same_address_other_name
    other: str  # "row 7" or "account 123 'Name'"
    name: str
    # What the import did with it: "repeat" (the same record or business as an earlier row:
    # nothing more written), "matched" (an id-less row updates that account), "linked" (a
    # hand-made account takes the row's external id), "merged" (an id a merge folded into
    # the account), "review" (imported as its own account; a person may merge them), "note"
    # (another business at the same address: imported, nothing to decide).
    outcome: str = "review"


@dataclass
class Conflict:
    """A field the import left alone: a person (or a merge, or another source) changed it
    since this source last set it, and the file now says something else."""

    account: int
    name: str
    row: int
    field: str
    current: Any
    imported: Any
    external_id: str | None = None


@dataclass
class ImportResult:
    """What an import did, or would have done (``status`` says which)."""

    status: str  # committed / rejected / unchanged
    filename: str
    sha256: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged_missing: int = 0
    unflagged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    batch_id: int | None = None
    seen_before: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows, "inserted": self.inserted, "updated": self.updated,
            "unchanged": self.unchanged, "flagged_missing": self.flagged_missing,
            "unflagged": self.unflagged, "rejected": len({r.row for r in self.rejects}),
            "duplicates": len(self.duplicates), "conflicts": len(self.conflicts),
            "to_review": sum(d.outcome == "review" for d in self.duplicates),
        }

    def reject_report_csv(self) -> str:
        """The reject report as CSV: row, field, reason, value (headers and reasons in the
        reader's language: the report is for the person fixing the file)."""
        return csv_string(
            [_("row"), _("field"), _("reason"), _("value")],
            ([r.row, r.field, words.sentence(r.reason), r.value] for r in self.rejects),
        )

    def duplicates_csv(self) -> str:
        return csv_string(
            [_("row"), _("name"), _("rule"), _("same as"), _("outcome")],
            ([d.row, d.name, words.word(d.rule), d.other, words.outcome(d.outcome)]
             for d in self.duplicates),
        )
