"""Token hashing, shared by the web layer (lookup) and services (issuing)."""

from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
