"""API keys: the Bearer check, and the key `docuocr serve` makes so that it never runs open by accident."""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from docuocr.errors import Unauthorized

KEY_FILE = "api_key"


def check_key(token: str | None, keys: Iterable[str]) -> None:
    """Raise `Unauthorized` unless `token` equals one of `keys` (constant-time, never logged)."""
    if not token:
        raise Unauthorized("missing API key: send the header 'Authorization: Bearer <key>'")
    given = token.encode()
    # Compare against every key so the time taken does not tell which one nearly matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key.encode())
    if not matched:
        raise Unauthorized("invalid API key")


def load_or_create_key(data_dir: Path) -> str:
    """The key in `data_dir/api_key`, created (mode 0600) on first use and reused afterwards."""
    path = data_dir / KEY_FILE
    if path.is_file():
        if key := path.read_text().strip():
            return key
        path.unlink()  # an empty leftover: make a new key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another server made it meanwhile: share its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key
