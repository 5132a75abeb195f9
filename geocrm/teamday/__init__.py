"""The team's day: the manager's live view of today's plans against what is done, the rep's
daily report (日報 / 영업일지) and business mileage from the visit sequence.

All three read the same facts (:mod:`geocrm.teamday.visits`: a rep's visits of a local day in
check-in order) and the same team rule (:func:`geocrm.access.team_rep_ids`).
"""
