"""Finding, verifying and downloading dataset files, with one-line errors."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from trainlab.errors import DataError

DOWNLOAD_TIMEOUT_S = 30


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_maybe_gzipped(path: Path) -> bytes:
    """The decompressed bytes of ``path`` (``.gz`` or plain)."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except (OSError, EOFError) as error:
        raise DataError(f"cannot read {path}: {error}; delete it to download it again") from None


def find_file(directory: Path, names: Sequence[str]) -> Path | None:
    """The first of ``names`` that exists in ``directory``."""
    return next((directory / n for n in names if (directory / n).is_file()), None)


def verify(path: Path, data: bytes, expected_sha256: str | None, how_to_get: str) -> None:
    if expected_sha256 and sha256(data) != expected_sha256:
        raise DataError(
            f"{path} is corrupt (SHA-256 of its content is not the published one); "
            f"delete it to download it again, or {how_to_get}"
        )


def download(urls: Sequence[str], target: Path) -> None:
    """Fetch the first URL that answers into ``target`` (atomically); raise on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        try:
            with (
                urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
                tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp,
            ):
                shutil.copyfileobj(response, tmp)
            Path(tmp.name).replace(target)
            return
        except Exception as error:
            errors.append(f"{url}: {getattr(error, 'reason', error)}")
    raise OSError("; ".join(errors))
