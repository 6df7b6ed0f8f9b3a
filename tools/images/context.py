"""One build on this machine: its plan, the builder the plan names, and how commands run.

Made once by the session (as apko's `build.New` makes its build context) and
passed through the whole build: stand-ins, app images, indexes, reproduce.
Nothing below it chooses a builder, a platform or a base again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tools.builders import Builder
from tools.images.plan import BuildPlan
from tools.process import Runner, run_shown, say


@dataclasses.dataclass(frozen=True)
class Build:
    """A plan bound to a builder, a command runner and the Python that downloads wheels."""

    plan: BuildPlan
    builder: Builder
    #: The Python whose pip (pinned by requirements-build.txt) downloads the wheelhouse.
    python: str = "python"
    run: Runner = run_shown
    say: Callable[[str], None] = say
