"""Line-list files on disk: uploads kept (by SHA-256) until imported, with a mark saying whose district sent
each, pruned after IMPORT_UPLOAD_HOURS; and files named on the command line."""
import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from ...clock import utcnow
from ..core.errors import NotFound
from .refusing import check_role, district_for, refuse

EXTENSIONS = (".csv", ".xlsx")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
UPLOAD_GONE = _l("This file is no longer kept here (it was imported, or it is more than a day old). "
                 "Upload it again.")


@dataclass
class StoredFile:
    """A line list on disk: an upload waiting in IMPORT_UPLOAD_DIR, or a file named on the command line."""
    path: Path
    filename: str
    sha256: str
    size: int

    @property
    def extension(self):
        return self.path.suffix.lower()

    @property
    def uploaded(self):
        return self.path.parent.resolve() == upload_dir().resolve()


def upload_dir():
    path = Path(current_app.config["IMPORT_UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def megabytes(size):
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _safe_name(filename):
    return (os.path.basename((filename or "").replace("\\", "/")).strip() or "line-list")[:255]


def store_upload(stream, filename, user, district_id=None, now=None):
    """Keep an uploaded file (named by its SHA-256) until it is imported; a file of the wrong type or
    size is refused, and the refusal recorded."""
    check_role(user)
    now = now or utcnow()
    district_id = district_for(user, district_id)
    filename = _safe_name(filename)
    extension = Path(filename).suffix.lower()
    prune_uploads()
    if extension not in EXTENSIONS:
        refuse("xls" if extension == ".xls" else "type", filename, "", user, "web", district_id, now)
    limit = current_app.config["IMPORT_MAX_BYTES"]
    digest, size = hashlib.sha256(), 0
    handle, part = tempfile.mkstemp(dir=upload_dir(), suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(1 << 16):
                size += len(chunk)
                if size > limit:
                    break
                digest.update(chunk)
                out.write(chunk)
        if size == 0 or size > limit:
            os.unlink(part)
            refuse("empty" if size == 0 else "too_big", filename, "", user, "web", district_id, now,
                   mb=megabytes(limit))
        path = upload_dir() / f"{digest.hexdigest()}{extension}"
        os.replace(part, path)
        _owner_mark(digest.hexdigest(), user).touch()
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return StoredFile(path, filename, digest.hexdigest(), size)


def stored_upload(sha256, filename):
    """An upload still kept, by its hash; NotFound once it has been imported or has expired."""
    if SHA256_RE.match(sha256 or ""):
        for extension in EXTENSIONS:
            path = upload_dir() / f"{sha256}{extension}"
            if path.is_file():
                return StoredFile(path, _safe_name(filename), sha256, path.stat().st_size)
    raise NotFound(UPLOAD_GONE)


def _owner_mark(sha256, user):
    """An empty file beside an upload saying which district's officer sent it (the hash alone is no key:
    the same file could be known elsewhere)."""
    return upload_dir() / f"{sha256}.{user.district_id or 'state'}.owner"


def stored_upload_for(user, sha256, filename):
    """An upload this user may continue (map its columns, import it): one sent by an officer of their district;
    state-level officers reach every upload. Another district's upload is "no longer kept", as a missing one."""
    stored = stored_upload(sha256, filename)
    if user.district_id is not None and not _owner_mark(sha256, user).is_file():
        raise NotFound(UPLOAD_GONE)
    return stored


def local_file(path):
    """A file named on the command line, hashed where it lies."""
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return StoredFile(path, path.name, digest.hexdigest(), path.stat().st_size)


def prune_uploads():
    """Uploads hold personal data: none is kept longer than IMPORT_UPLOAD_HOURS."""
    cutoff = time.time() - current_app.config["IMPORT_UPLOAD_HOURS"] * 3600
    for path in upload_dir().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:  # another worker pruned it first
            pass


def discard(stored):
    """An imported upload (and its owner marks) deleted; a command-line file is left where it lies."""
    if stored.uploaded:
        stored.path.unlink(missing_ok=True)
        for mark in upload_dir().glob(f"{stored.sha256}.*.owner"):
            mark.unlink(missing_ok=True)
