"""Where the connector's own secrets live: a file readable by its owner only (0600), or the
environment; the database only when neither is available.

The EDR signing key signs the tokens that open our data plane. A database dump or backup must
not carry it, so it is kept by reference:

1. ``PONTIS_EDR_SIGNING_KEY`` (the base64 of a 32-byte Ed25519 seed; a vault injects it);
2. ``[dataplane] edr_key_file``, or by default a file next to the ``[identity]`` key file, or
   next to the SQLite database: created 0600 on first use;
3. otherwise (PostgreSQL without a key file) the ``connector_secret`` row, as before, so that
   replicas share one key; the connector says so at start.

A key found in the database by a connector that now has a file (an older install) moves to the
file, and the row is deleted, so the EDRs already issued stay valid.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

EDR_KEY_ENV = "PONTIS_EDR_SIGNING_KEY"


class SecretError(ValueError):
    """A secret that is configured but cannot be used, with where it is and why."""


def _seed(text: str, where: str) -> bytes:
    try:
        seed = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretError(f"{where}: expected the base64 of a 32-byte Ed25519 seed ({exc})") from None
    if len(seed) != 32:
        raise SecretError(f"{where}: expected the base64 of a 32-byte Ed25519 seed, got {len(seed)} bytes")
    return seed


def edr_key_path(settings: Any) -> Path | None:
    """The EDR key file: configured, next to the identity key file, or next to the SQLite file."""
    if settings.dataplane.edr_key_file:
        return Path(settings.dataplane.edr_key_file)
    key_file = settings.identity.key_file
    if key_file:
        path = Path(key_file)
        base = path.name[: -len(".keys.json")] if path.name.endswith(".keys.json") else path.stem
        return path.with_name(base + ".edr-key.json")
    url = settings.database_url
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            return Path(database + ".edr-key.json")
    return None


class SeedFile:
    """An Ed25519 seed in a 0600 JSON file, created once (by whichever process gets there first)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def read(self) -> bytes | None:
        try:
            if os.name == "posix" and self.path.stat().st_mode & 0o077:
                raise SecretError(f"{self.path} is readable by group or others; chmod 600 it")
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise SecretError(f"cannot read the EDR signing key {self.path}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("seed"), str):
            raise SecretError(f"{self.path}: expected {{\"type\": \"Ed25519\", \"seed\": <base64>}}")
        return _seed(data["seed"], str(self.path))

    def create(self, seed: bytes) -> bytes:
        """Store ``seed`` unless the file exists already; the seed the file holds afterwards."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"type": "Ed25519", "use": "EDR token signing",
                           "seed": base64.b64encode(seed).decode()}, handle)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, self.path)  # never over another process's key
            except FileExistsError:
                pass
        finally:
            Path(tmp).unlink(missing_ok=True)
        found = self.read()
        assert found is not None
        return found


def env_seed() -> bytes | None:
    value = os.environ.get(EDR_KEY_ENV)
    return _seed(value, EDR_KEY_ENV) if value else None


SECRET_ENV_PREFIX = "PONTIS_SECRET_"
SECRETS_DIR_ENV = "PONTIS_SECRETS_DIR"


def secret_env_name(alias: str) -> str:
    """The environment variable that holds the secret ``alias``: ``PONTIS_SECRET_`` + the alias in
    capitals, every other character an underscore (``Oauth2-client-secret`` → ``PONTIS_SECRET_OAUTH2_CLIENT_SECRET``)."""
    return SECRET_ENV_PREFIX + "".join(c if c.isalnum() else "_" for c in alias).upper()


def read_secret(alias: str) -> str:
    """A secret a data address names by alias (EDC's ``…KeyAlias``, a vault reference): from its
    environment variable (``secret_env_name``), else the file ``$PONTIS_SECRETS_DIR/<alias>`` (a
    mounted Kubernetes or Docker secret). Never from the database; SecretError says where it looked."""
    value = os.environ.get(secret_env_name(alias))
    if value:
        return value
    folder = os.environ.get(SECRETS_DIR_ENV)
    if folder and alias and "/" not in alias and alias not in (".", ".."):
        try:
            return (Path(folder) / alias).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SecretError(f"cannot read the secret {alias!r} from {folder}: {exc}") from None
    where = f"{secret_env_name(alias)} is not set" + (f" and {folder}/{alias} does not exist" if folder else
                                                      f" (or set {SECRETS_DIR_ENV} to a folder of secret files)")
    raise SecretError(f"no secret {alias!r}: {where}")
