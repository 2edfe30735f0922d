"""A small mergeable sample of distinct accounts (a "k minimum values" sketch).

Each account id is hashed to a number in ``[0, 2**53)``; a sample keeps only the ``SAMPLE_SIZE``
smallest hashes seen. While fewer accounts than that were seen the sample is the whole set and counts
are exact; beyond it, the largest kept hash tells how densely the hash space is filled, which
estimates the count within a few percent. The sample of a union is the smallest hashes of the
samples' union, so hours, days and worker processes merge without keeping every id, and a hash in
the union's sample is in a part's sample exactly when that account was active in that part.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable

SAMPLE_SIZE = 256
HASH_BITS = 53  # exact in any JSON reader, including ones that parse numbers as doubles
_SPACE = float(1 << HASH_BITS)
_SALT = b"starling-activity\x00"


def account_hash(account_id: int) -> int:
    digest = hashlib.blake2b(_SALT + str(account_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - HASH_BITS)


def merge(*samples: Iterable[int], size: int = SAMPLE_SIZE) -> list[int]:
    """The sorted sample of the union of ``samples``."""
    union: set[int] = set()
    for sample in samples:
        union.update(sample)
    return heapq.nsmallest(size, union)


def is_complete(sample: list[int], size: int = SAMPLE_SIZE) -> bool:
    """True when the sample holds every account of its set (counts from it are exact)."""
    return len(sample) < size


def estimate(sample: list[int], size: int = SAMPLE_SIZE) -> float:
    """Distinct accounts in the set ``sample`` was drawn from."""
    if is_complete(sample, size):
        return float(len(sample))
    largest = sample[-1] + 1
    return (size - 1) * _SPACE / largest
