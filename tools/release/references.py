"""Where a release goes: `HOST[:PORT]/NAME`, and how each tool must be told about it.

A loopback registry speaks plain HTTP; anything else must be HTTPS. The flags
that allow HTTP are given for loopback only, so a typo cannot send a release
over plain HTTP to another machine.
"""

from __future__ import annotations

import dataclasses
import re

from tools.process import BuildError

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_REPOSITORY = re.compile(
    r"^(?P<host>[a-z0-9.-]+|\[::1\])(?::(?P<port>\d{1,5}))?/(?P<path>[a-z0-9._-]+(?:/[a-z0-9._-]+)*)$"
)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclasses.dataclass(frozen=True)
class Repository:
    """A repository in a registry: `registry` is host[:port], `path` the name in it."""

    registry: str
    path: str

    @classmethod
    def parse(cls, text: str) -> Repository:
        match = _REPOSITORY.match(text.strip())
        if not match:
            raise BuildError(
                f"{text!r} is not a repository: give HOST[:PORT]/NAME, "
                "for example 127.0.0.1:5000/moscow-time"
            )
        registry = match["host"] + (f":{match['port']}" if match["port"] else "")
        return cls(registry, match["path"])

    def __str__(self) -> str:
        return f"{self.registry}/{self.path}"

    @property
    def loopback(self) -> bool:
        return self.registry.rsplit(":", 1)[0] in LOOPBACK_HOSTS or self.registry == "[::1]"

    def tag(self, tag: str) -> str:
        return f"{self}:{tag}"

    def by_digest(self, digest: str) -> str:
        if not _DIGEST.match(digest):
            raise BuildError(f"{digest!r} is not a sha256 digest")
        return f"{self}@{digest}"

    def cosign_flags(self) -> list[str]:
        """cosign talks HTTPS unless told this registry is a loopback one."""
        return ["--allow-http-registry"] if self.loopback else []

    def skopeo_tls(self, direction: str) -> list[str]:
        """skopeo's TLS flag for reading (`src`) or writing (`dest`) this registry."""
        return [f"--{direction}-tls-verify=false"] if self.loopback else []


@dataclasses.dataclass(frozen=True)
class Pinned:
    """An image by digest: what is signed, attested, verified and deployed."""

    repository: Repository
    digest: str

    @classmethod
    def parse(cls, text: str) -> Pinned:
        name, sep, digest = text.strip().partition("@")
        if not sep:
            raise BuildError(
                f"{text!r} names no digest: give REPOSITORY@sha256:..., as `nox -s release` "
                "prints it (a tag can be moved; a digest cannot)"
            )
        repository = Repository.parse(_without_tag(name))
        repository.by_digest(digest)
        return cls(repository, digest)

    def __str__(self) -> str:
        return self.repository.by_digest(self.digest)

    @property
    def signature_tag(self) -> str:
        """Where cosign keeps this digest's signatures (its `triangulate`)."""
        return self.repository.tag(self.digest.replace(":", "-") + ".sig")


def _without_tag(name: str) -> str:
    """`repo:tag` -> `repo`; a port's colon comes before the first slash and stays."""
    last = name.rsplit("/", 1)
    if len(last) == 2 and ":" in last[1]:
        return last[0] + "/" + last[1].split(":", 1)[0]
    return name
