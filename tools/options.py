"""The options of the sessions that build images: `nox -s build -- --builder buildah`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tools.builders import BUILDERS
from tools.project import BUILDER_ENV, OFFLINE_ENV, PLATFORMS, PLATFORMS_ENV


def image_options(session_name: str, argv: Sequence[str]) -> argparse.Namespace:
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
    return parser.parse_args(list(argv))
