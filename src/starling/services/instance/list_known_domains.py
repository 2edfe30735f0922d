"""The other servers this one knows accounts of (its peers)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.repositories.instance import known_domains


async def list_known_domains(session: AsyncSession) -> list[str]:
    return await known_domains(session)
