"""Every job kind and its one-line handler: load by id, call a service.

Each handler runs in its own transaction together with the deletion of its job row, so its
database effects happen exactly once. Handlers tolerate their subject having been deleted meanwhile.
"""

from __future__ import annotations

from starling.jobs import backfill, follow_jobs, media_jobs, status_jobs, timeline_jobs

__all__ = ["backfill", "follow_jobs", "media_jobs", "status_jobs", "timeline_jobs"]
