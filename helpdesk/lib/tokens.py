"""Secret tokens kept only as hashes: visitor tokens, invitation links."""

from __future__ import annotations

import hashlib


def hash_token(raw: str) -> str:
    """The stored form of a secret token: its SHA-256, as hex. The tokens are long random
    strings (no dictionary to guess from), so a fast hash is enough and lets a lookup by
    token be one indexed query."""
    return hashlib.sha256(raw.encode()).hexdigest()
