"""The project's environment variables: their names, and the one place they are read.

`Settings.read()` takes a snapshot of `MOSCOW_TIME_*` (and XDG's cache home)
when a session starts; the build's plan is made from it and the command
line, and nothing below the plan reads the environment for a choice.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from tools.paths import BASES_LOCK

PREFIX = "MOSCOW_TIME_"
OFFLINE_ENV = "MOSCOW_TIME_OFFLINE"
#: A directory `nox -s vendor` filled: every .deb and wheel a build needs.
VENDOR_ENV = "MOSCOW_TIME_VENDOR"
BUILDER_ENV = "MOSCOW_TIME_BUILDER"
#: The platforms to build when `--platform` is not given: a comma list, or "all".
PLATFORMS_ENV = "MOSCOW_TIME_PLATFORMS"
#: Another reference for an upstream base (to pin one by digest), by base name.
UPSTREAM_ENV = {"slim": "MOSCOW_TIME_PYTHON_IMAGE", "distroless": "MOSCOW_TIME_DISTROLESS_IMAGE"}
#: The upstream bases' lock (default: bases.lock.json in the checkout).
BASES_LOCK_ENV = "MOSCOW_TIME_BASES_LOCK"
#: 1: an online build takes only the digests the bases' lock holds, and resolves none (CI).
FROZEN_ENV = "MOSCOW_TIME_FROZEN"
#: Debian mirrors to fetch locked .debs from: `debian=URL debian-security=URL`.
MIRRORS_ENV = "MOSCOW_TIME_DEBIAN_MIRRORS"
#: Debian's snapshot archive (its base URL): where a locked .deb that left the mirror is
#: fetched, as the archive was at the lock's locked-at time.
SNAPSHOT_ENV = "MOSCOW_TIME_DEBIAN_SNAPSHOT"
#: Where fetched .debs are kept (default: the user cache).
DEB_CACHE_ENV = "MOSCOW_TIME_DEB_CACHE"
#: The command line that runs nox, for `nox -s rebuild`'s build of another commit
#: (the noxfile sets it to its own interpreter's `-m nox`; default: `nox`).
NOX_ENV = "MOSCOW_TIME_NOX"
#: compose.yaml's image variable (compose reads it, not the tooling).
COMPOSE_IMAGE_ENV = "MOSCOW_TIME_IMAGE"


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the environment asks of a build."""

    builder: str | None = None
    platforms: str | None = None
    #: True: the stand-ins; False: the upstream bases, or fail; None: the upstream
    #: bases if a registry answers, else the stand-ins.
    offline: bool | None = None
    vendor: Path | None = None
    #: Base name → the upstream reference to use instead of the model's.
    upstream: Mapping[str, str] = dataclasses.field(default_factory=dict)
    bases_lock: Path = BASES_LOCK
    frozen: bool = False

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        vendor = env.get(VENDOR_ENV)
        return cls(
            builder=env.get(BUILDER_ENV) or None,
            platforms=(env.get(PLATFORMS_ENV) or "").strip() or None,
            offline=None if env.get(OFFLINE_ENV, "") == "" else env[OFFLINE_ENV] != "0",
            vendor=Path(vendor).resolve() if vendor else None,
            upstream={name: env[var] for name, var in UPSTREAM_ENV.items() if env.get(var)},
            bases_lock=Path(env[BASES_LOCK_ENV]).resolve()
            if env.get(BASES_LOCK_ENV)
            else BASES_LOCK,
            frozen=env.get(FROZEN_ENV, "") not in ("", "0"),
        )


def user_cache() -> Path:
    """The per-user cache outside any checkout, so clones share it: .debs, unpacked tools."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "moscow-time"


def vendor_dir() -> Path | None:
    """The air-gapped inputs, if $MOSCOW_TIME_VENDOR names them."""
    return Settings.read().vendor
