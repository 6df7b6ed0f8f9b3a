"""Container builders: one class per builder, behind one interface.

| class            | module | builds with                                  | reproducible    |
|------------------|--------|----------------------------------------------|-----------------|
| `Buildah`        | libpod | `buildah build --timestamp`, then normalized | yes             |
| `Podman`         | libpod | `podman build --timestamp`, then normalized  | yes             |
| `DockerBuildKit` | docker | `docker buildx build`, OCI archive, loaded   | BuildKit ≥ 0.13 |
| `DockerClassic`  | docker | `docker build`                               | no: says why    |

`interface` holds what they share, `pick` chooses one. Every difference
between builders lives in these classes: callers ask a builder, never its name.
"""

from tools.builders.interface import Builder, BuildRequest, Inspected
from tools.builders.pick import BUILDERS, named_builder, pick_builder, warning

__all__ = [
    "BUILDERS",
    "BuildRequest",
    "Builder",
    "Inspected",
    "named_builder",
    "pick_builder",
    "warning",
]
