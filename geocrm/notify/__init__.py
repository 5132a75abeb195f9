"""Notifications: mail over SMTP and Web Push, from an outbox sent by background jobs (issue 17).

* :mod:`.outbox` — what each person chose to be told, and :func:`.outbox.queue`, which the
  features call in their own transaction (a task assigned, a plan published, the digest);
* :mod:`.dispatch` — the job that sends what is due, with retries and back-off;
* :mod:`.mail` and :mod:`.push` — the two channels.
"""
