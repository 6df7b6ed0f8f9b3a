"""The build plan: every choice of one build, made once, from the options and the environment.

A `BuildPlan` names the builder, the platforms (the host's first), the image
each base build arg takes on each platform, the commit the images are of and
the epoch (`tools.images.identity` defines both), and
whether layers may come from the cache. It is plain data: the build record
keeps it, the release's provenance records it, and a rebuild makes the same
plan again from that record (`BuildPlan.from_json`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from tools import builders
from tools.images import platforms
from tools.images.identity import IMAGE_EPOCH, input_revision
from tools.images.options import Options
from tools.inputs.baselock import BaseLock, pinned_upstream, skopeo_resolver
from tools.model import BASES, PLATFORMS, Platform, host_platform
from tools.process import (
    BuildError,
    Runner,
    capture,
    rfc3339,
    run_shown,
    say,
)
from tools.settings import OFFLINE_ENV, Settings


def quiet(*args: str, **_: object) -> None:
    """A runner that shows nothing: a failed pull is an answer here, not an error to show."""
    capture(*args)


@dataclasses.dataclass(frozen=True)
class BuildPlan:
    """One build's choices; nothing in the build decides anything this does not say."""

    builder: str
    #: OCI names, the host's first: it is built natively and loaded under the usual tags.
    platforms: tuple[str, ...]
    #: Platform → base name → the image reference that base is on that platform.
    bases: Mapping[str, Mapping[str, str]]
    #: The last commit that changed an image input (`identity.input_revision`).
    revision: str
    #: SOURCE_DATE_EPOCH: every file time, `created` and the labels' date
    #: (`identity.IMAGE_EPOCH`; an older record has its commit's time).
    epoch: int
    #: On the local stand-ins made from Debian packages, not the upstream bases.
    offline: bool
    no_cache: bool = False

    @property
    def host(self) -> Platform:
        return self.targets[0]

    @property
    def targets(self) -> list[Platform]:
        """The platforms as models, the host's first."""
        return [PLATFORMS.get(name) or host_platform() for name in self.platforms]

    @property
    def created(self) -> str:
        return rfc3339(self.epoch)

    def base(self, platform: Platform, base_name: str) -> str:
        """The image a base is on one platform."""
        return self.bases[platform.name][base_name]

    def replace(self, **changes: Any) -> BuildPlan:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        found = dataclasses.asdict(self)
        found["platforms"] = list(self.platforms)
        found["bases"] = {name: dict(refs) for name, refs in self.bases.items()}
        return found

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildPlan:
        return cls(
            builder=str(data["builder"]),
            platforms=tuple(data["platforms"]),
            bases={name: dict(refs) for name, refs in data["bases"].items()},
            revision=str(data["revision"]),
            epoch=int(data["epoch"]),
            offline=bool(data["offline"]),
            no_cache=bool(data.get("no_cache", False)),
        )


def base_references(
    chosen: list[Platform], *, offline: bool, upstream: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    """Per platform, the image each base is: its stand-in, or the upstream reference
    (an index: the builder picks each platform's image from it)."""
    return {
        each.name: {
            name: base.standin_for(each) if offline else upstream.get(name, base.upstream)
            for name, base in BASES.items()
        }
        for each in chosen
    }


def unavailable(
    builder: builders.Builder, bases: Mapping[str, Mapping[str, str]], run: Runner
) -> Iterator[str]:
    """Each base image, once, that is neither in the builder's store nor pullable (lazily:
    a caller may stop at the first)."""
    for ref in sorted({ref for refs in bases.values() for ref in refs.values()}):
        if builder.image_id(ref) is None and not builder.pull(run, ref):
            yield ref


def upstream_unreachable(
    builder: builders.Builder, chosen: list[Platform], upstream: Mapping[str, str]
) -> bool:
    """True, said in one line, if an upstream base is neither in the builder's store nor
    pullable: the plan then takes the stand-ins made from Debian packages."""
    references = base_references(chosen, offline=False, upstream=upstream)
    missing = next(unavailable(builder, references, quiet), None)
    if missing is not None:
        say(
            f"no registry answers for {missing}: building on the stand-in bases, made from "
            f"Debian packages ({OFFLINE_ENV}=0 insists on the upstream bases)"
        )
    return missing is not None


def upstream_tags(settings: Settings) -> dict[str, str]:
    """Each base's upstream reference: the environment's, else the model's tag."""
    return {name: settings.upstream.get(name, base.upstream) for name, base in BASES.items()}


def locked_upstream(settings: Settings) -> dict[str, str]:
    """Each upstream base as the lock pins it, or its tag where the lock has no entry."""
    lock = BaseLock.read(settings.bases_lock)
    references = upstream_tags(settings)
    return {
        name: entry.pinned if (entry := lock.entry(name, reference)) else reference
        for name, reference in references.items()
    }


def pin_upstream(settings: Settings) -> dict[str, str]:
    """Each upstream base by digest (`baselock.pinned_upstream`): from the lock, or resolved
    now and written to it (not when frozen)."""
    return pinned_upstream(
        upstream_tags(settings),
        path=settings.bases_lock,
        frozen=settings.frozen,
        resolver=lambda: skopeo_resolver(run_shown),
        say=say,
    )


def make_plan(
    options: Options, settings: Settings, *, reproducible: bool = False
) -> tuple[BuildPlan, builders.Builder]:
    """The plan for these options and this environment, and the builder it names.

    Checks here what this machine can do (the builder, emulation for other
    platforms), so that a plan that is made can be carried out.
    """
    builder = builders.pick_builder(options.builder or settings.builder, reproducible=reproducible)
    chosen = platforms.parse(options.platform or settings.platforms)
    if len(chosen) > 1 and not builder.multi_platform:
        raise BuildError(
            f"{builder.name} builds this machine's platform only here: build "
            f"{', '.join(each.name for each in chosen[1:])} with buildah or podman "
            "(-- --builder buildah)"
        )
    if problem := platforms.missing_emulation(chosen):
        raise BuildError(problem)
    offline = options.offline or settings.offline
    locked = locked_upstream(settings)
    if offline is None:
        offline = upstream_unreachable(builder, chosen, locked)
    upstream = {} if offline else pin_upstream(settings)
    plan = BuildPlan(
        builder=builder.name,
        platforms=tuple(each.name for each in chosen),
        bases=base_references(chosen, offline=offline, upstream=upstream),
        revision=input_revision(),
        epoch=IMAGE_EPOCH,
        offline=offline,
        no_cache=options.no_cache,
    )
    return plan, builder
