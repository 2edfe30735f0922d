"""Exit 0 when the test PostgreSQL server answers (used by the Makefile)."""

from __future__ import annotations

import asyncio
import sys

from tests.support.databases import pg_admin_url, pg_reachable

if __name__ == "__main__":
    sys.exit(0 if asyncio.run(pg_reachable(pg_admin_url())) else 1)
