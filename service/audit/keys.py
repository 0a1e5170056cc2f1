"""The Ed25519 key that signs tree heads: made on first start, kept in a file, never in the
database (whoever can write the database must not be able to sign for it).

Where: `Settings.signing_key_file` (`TIMELINE_SIGNING_KEY_FILE`) when set, else
`<data dir>/signing-key.pem`, the data directory being `Settings.data_dir` or the default of
the embedded PostgreSQL (`service.embedded.default_data_dir()`: the user's data directory, or
/var/lib/sanctions-timeline as root). The file is PKCS#8 PEM, created with mode 0600; several
processes starting at once agree on one key (it is written aside and hard-linked into place,
so the first one wins and the others read it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from projections.audit import signing
from service.db.embedded import default_data_dir

KEY_FILE_NAME = "signing-key.pem"
KEY_FILE_ENV = "TIMELINE_SIGNING_KEY_FILE"

log = logging.getLogger("timeline.keys")


def key_path(settings: object | None = None) -> Path:
    """The key file for these settings (a `service.settings.Settings`, or None: defaults)."""
    configured = getattr(settings, "signing_key_file", None)
    if configured:
        return Path(configured).expanduser()
    data_dir = getattr(settings, "data_dir", None)
    return Path(data_dir or default_data_dir()).expanduser() / KEY_FILE_NAME


def load_key(path: Path) -> Ed25519PrivateKey:
    """The private key in `path`. FileNotFoundError if absent, ValueError if not a key."""
    data = path.read_bytes()
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the signing key %s is readable by others (mode %o); chmod 600 it", path, mode)
    try:
        return signing.load_private_key(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_or_create(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The key in `path`, made (mode 0600, parent folders 0700) if there is none yet.

    Returns (key, created). Safe when several processes call it at once: exactly one key wins.
    """
    with contextlib.suppress(FileNotFoundError):
        return load_key(path), False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = signing.generate_private_key()
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(signing.private_key_pem(key))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # atomic, and fails if another process got there first
        except FileExistsError:
            return load_key(path), False
        except OSError:  # a file system without hard links: exclusive create instead
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return load_key(path), False
            with os.fdopen(fd, "wb") as out:
                out.write(signing.private_key_pem(key))
                out.flush()
                os.fsync(out.fileno())
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    log.warning(
        "made a new head signing key %s (key id %s); publish its public key: timeline keys",
        path,
        signing.key_id(key.public_key()),
    )
    return key, True


def signing_key(settings: object | None = None) -> Ed25519PrivateKey:
    """The signing key of these settings, made on first use."""
    key, _ = load_or_create(key_path(settings))
    return key
