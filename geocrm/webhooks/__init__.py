"""Webhooks (issue 18): signed event deliveries to the endpoints admins register.

A change calls :func:`geocrm.webhooks.events.emit` inside its own transaction (one row per
subscribed endpoint); :mod:`geocrm.webhooks.delivery` sends the rows from a background job,
signed by :mod:`geocrm.webhooks.signing`, with retries and back-off.
"""
