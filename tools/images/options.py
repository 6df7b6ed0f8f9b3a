"""The command line of the sessions that build images: `nox -s build -- --builder buildah`."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence

from tools.builders import BUILDERS
from tools.model import PLATFORMS
from tools.settings import BUILDER_ENV, OFFLINE_ENV, PLATFORMS_ENV


@dataclasses.dataclass(frozen=True)
class Options:
    """What the user asked for on the command line; the plan adds the environment's defaults."""

    builder: str | None = None
    platform: str | None = None
    offline: bool = False
    no_cache: bool = False

    @classmethod
    def parse(cls, session_name: str, argv: Sequence[str]) -> Options:
        """--builder, --platform, --offline and --no-cache, as every image session takes them."""
        parser = argparse.ArgumentParser(prog=f"nox -s {session_name} --")
        parser.add_argument(
            "--builder",
            choices=BUILDERS,
            help=f"default: ${BUILDER_ENV}, else the first of buildah, podman, docker found",
        )
        parser.add_argument(
            "--offline",
            action="store_true",
            help=f"build on local stand-in bases (also: {OFFLINE_ENV}=1)",
        )
        parser.add_argument(
            "--platform",
            help=f"`all` or a comma list of {', '.join(PLATFORMS)}; default: ${PLATFORMS_ENV}, "
            "else this machine's. The host's is always built too",
        )
        parser.add_argument("--no-cache", action="store_true", help="rebuild every layer")
        parsed = parser.parse_args(list(argv))
        return cls(parsed.builder, parsed.platform, parsed.offline, parsed.no_cache)
