"""The core domain: rules every feature shares, below the features and above the models.

Layers point one way: ``geocrm.models`` → ``geocrm.core`` (account field rules, moving a
pin, territory assignment, the audit trail, the transaction helper) → feature services
(crm, planning, imports, field, territory_admin, maps) → entry points (views, API, CLI,
jobs). Nothing in here imports a feature package.
"""
