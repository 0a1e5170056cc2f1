"""Signed tree heads: (size, root hash, timestamp) signed with Ed25519.

The signed content is these exact bytes (UTF-8, every line ends in a line feed):

    sanctions-timeline tree head v1
    <size, decimal>
    <root hash, 64 lowercase hex digits>
    <timestamp, UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ: always six fraction digits>
    <key id>

The key id is the first 16 hex digits of SHA-256 of the raw 32-byte Ed25519 public key. The
signature (64 bytes) travels as standard base64 with padding. A head as JSON:

    {"size": 8, "root_hash": "5dc9…", "timestamp": "2025-01-01T00:00:00.000001Z",
     "key_id": "…", "signature": "…"}

Keys are kept as PEM (PKCS#8 private, SubjectPublicKeyInfo public) or as raw 32 bytes; this
module converts bytes to keys and back and does no file I/O.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import re
from typing import Annotated, Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DOMAIN = b"sanctions-timeline tree head v1\n"
_HEX64 = re.compile(r"[0-9a-f]{64}")

AwareDatetime = Annotated[_dt.datetime, msgspec.Meta(tz=True)]


class SignedHead(msgspec.Struct, frozen=True, kw_only=True):
    """A tree head as the service publishes it and an auditor pins it."""

    size: int
    root_hash: str  # hex, lowercase
    timestamp: AwareDatetime
    key_id: str
    signature: str  # base64 of the 64-byte Ed25519 signature

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.root_hash)


class KeyInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A public key as published (`GET /v1/log/key`): raw key in base64, and its id."""

    key_id: str
    public_key: str  # standard base64 of the raw 32-byte Ed25519 public key
    algorithm: Literal["Ed25519"] = "Ed25519"


# --------------------------------------------------------------------------- keys


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def private_key_raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted (protect the file, not the bytes)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(data: bytes) -> Ed25519PrivateKey:
    """A private key from PEM (PKCS#8) or the raw 32-byte seed. ValueError otherwise."""
    if data.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return key
    if len(data) == 32:
        return Ed25519PrivateKey.from_private_bytes(data)
    raise ValueError("expected a PEM Ed25519 private key or 32 raw bytes")


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """A public key from PEM (SubjectPublicKeyInfo) or the raw 32 bytes. ValueError otherwise."""
    if data.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    if len(data) == 32:
        return Ed25519PublicKey.from_public_bytes(data)
    raise ValueError("expected a PEM Ed25519 public key or 32 raw bytes")


def key_id(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256(raw public key)."""
    return hashlib.sha256(public_key_raw(key)).hexdigest()[:16]


def key_info(key: Ed25519PublicKey) -> KeyInfo:
    return KeyInfo(
        key_id=key_id(key), public_key=base64.b64encode(public_key_raw(key)).decode("ascii")
    )


def public_key_from_info(info: KeyInfo) -> Ed25519PublicKey:
    """The key in a KeyInfo; ValueError if malformed or its id does not match."""
    try:
        raw = base64.b64decode(info.public_key, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"public_key: not base64: {exc}") from None
    if len(raw) != 32:
        raise ValueError("public_key: an Ed25519 public key is 32 bytes")
    key = load_public_key(raw)
    if key_id(key) != info.key_id:
        raise ValueError("key_id does not match the public key")
    return key


# --------------------------------------------------------------------------- heads


def _timestamp_text(timestamp: _dt.datetime) -> str:
    utc = timestamp.astimezone(_dt.UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def signed_content(*, size: int, root_hash: str, timestamp: _dt.datetime, key_id: str) -> bytes:
    """The exact bytes an Ed25519 signature of a head covers (see the module docstring)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"size: must be a non-negative integer, not {size!r}")
    if not isinstance(root_hash, str) or not _HEX64.fullmatch(root_hash):
        raise ValueError("root_hash: must be 64 lowercase hex digits")
    if not isinstance(timestamp, _dt.datetime) or timestamp.utcoffset() is None:
        raise ValueError("timestamp: must be a timezone-aware datetime")
    if not isinstance(key_id, str) or not key_id or "\n" in key_id:
        raise ValueError("key_id: must be a non-empty single-line string")
    lines = (str(size), root_hash, _timestamp_text(timestamp), key_id)
    return DOMAIN + "".join(f"{line}\n" for line in lines).encode("utf-8")


def head_content(head: SignedHead) -> bytes:
    return signed_content(
        size=head.size, root_hash=head.root_hash, timestamp=head.timestamp, key_id=head.key_id
    )


def sign_head(
    private_key: Ed25519PrivateKey, size: int, root: bytes, timestamp: _dt.datetime
) -> SignedHead:
    """Sign (size, root, timestamp). The head's timestamp is stored in UTC."""
    if not isinstance(root, bytes | bytearray) or len(root) != 32:
        raise ValueError("root: must be 32 bytes")
    if not isinstance(timestamp, _dt.datetime) or timestamp.utcoffset() is None:
        raise ValueError("timestamp: must be a timezone-aware datetime")
    timestamp = timestamp.astimezone(_dt.UTC)
    kid = key_id(private_key.public_key())
    root_hash = bytes(root).hex()
    content = signed_content(size=size, root_hash=root_hash, timestamp=timestamp, key_id=kid)
    signature = base64.b64encode(private_key.sign(content)).decode("ascii")
    return SignedHead(
        size=size, root_hash=root_hash, timestamp=timestamp, key_id=kid, signature=signature
    )


def verify_head(public_key: Ed25519PublicKey, head: SignedHead) -> bool:
    """True iff `head` is well formed, names this key and carries its valid signature."""
    try:
        if head.key_id != key_id(public_key):
            return False
        content = head_content(head)
        signature = base64.b64decode(head.signature, validate=True)
        if len(signature) != 64:
            return False
        public_key.verify(signature, content)
    except (InvalidSignature, ValueError, TypeError, AttributeError):
        return False
    return True


_head_decoder = msgspec.json.Decoder(SignedHead)
_encoder = msgspec.json.Encoder()


def encode_head(head: SignedHead) -> bytes:
    """The head as JSON (what `GET /v1/log/head` answers and an auditor saves)."""
    return _encoder.encode(head)


def decode_head(data: bytes | str) -> SignedHead:
    """A head from JSON; ValueError if malformed. Does not check the signature."""
    try:
        return _head_decoder.decode(data)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise ValueError(f"not a signed head: {exc}") from None
