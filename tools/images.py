"""Build the base and app images: the machinery behind `nox -s bases` and `nox -s build`.

Standard library only, so nox can import it before any session venv exists.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
WHEELHOUSE = BUILD / "wheelhouse"
BASES_DIR = BUILD / "bases"
BASES_LOCK = BUILD / "bases.lock"
IMAGES_JSON = BUILD / "images.json"
#: The OCI archives that Docker's BuildKit writes, one per image ID.
OCI_ARCHIVES = BUILD / "oci"

#: Debian release of every base, real or stand-in.
SUITE = "trixie"
PYTHON_VERSION = "3.13"
IMAGE_NAME = "moscow-time"
BUILDERS = ("buildah", "podman", "docker")
OFFLINE_ENV = "MOSCOW_TIME_OFFLINE"
BUILDER_ENV = "MOSCOW_TIME_BUILDER"
CREATED_LABEL = "org.opencontainers.image.created"
#: Docker 26.0 is the first engine to ship BuildKit 0.13, whose exporters can
#: set the time of every file in the layers (rewrite-timestamp).
DOCKER_REWRITE_TIMESTAMP = (26, 0)
BUILDKIT_REWRITE_TIMESTAMP = (0, 13)
CONTAINERD_STORE = "io.containerd.snapshotter.v1"
#: Digest of what a stand-in base is made from, so an edited hook or
#: package list is noticed before the commit that changes the epoch.
BASE_INPUTS_LABEL = "io.github.moscow-time.base-inputs"

Runner = Callable[..., object]


class BuildError(RuntimeError):
    """A build step failed in a way the user can act on; the message says how."""


@dataclasses.dataclass(frozen=True)
class Base:
    """A base image: its upstream name and the local stand-in for it."""

    name: str
    upstream: str
    standin: str
    variant: str  # mmdebstrap --variant

    @property
    def workdir(self) -> Path:
        return BASES_DIR / self.name

    @property
    def containerfile(self) -> Path:
        return ROOT / "bases" / f"{self.name}.Containerfile"

    def inputs_digest(self) -> str:
        """sha256 over this base's Containerfile, hook and package list."""
        digest = hashlib.sha256()
        for path in sorted((ROOT / "bases").glob(f"{self.name}*")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def expected_labels(self, epoch: int) -> dict[str, str]:
        return {CREATED_LABEL: rfc3339(epoch), BASE_INPUTS_LABEL: self.inputs_digest()}


BASES = {
    "slim": Base(
        name="slim",
        # Set these variables to pin an upstream base by digest. Fully
        # qualified: buildah would take the short "python:…" to mean any
        # local image whose name ends so, such as the stand-in.
        upstream=os.environ.get(
            "MOSCOW_TIME_PYTHON_IMAGE", "docker.io/library/python:3.13-slim-trixie"
        ),
        standin="localhost/moscow-time-base/python:3.13-slim-trixie",
        variant="minbase",
    ),
    "distroless": Base(
        name="distroless",
        upstream=os.environ.get(
            "MOSCOW_TIME_DISTROLESS_IMAGE", "gcr.io/distroless/python3-debian13:nonroot"
        ),
        standin="localhost/moscow-time-base/distroless-python3-debian13:nonroot",
        variant="extract",
    ),
}


@dataclasses.dataclass(frozen=True)
class Variant:
    """One of the two app images."""

    name: str
    dockerfile: str
    #: Build args naming base images, and which base each one takes.
    base_args: Mapping[str, str]
    #: The build arg whose base the runtime stage starts from.
    runtime_arg: str

    def tag(self, suffix: str = "") -> str:
        return f"{IMAGE_NAME}:{suffix + '-' if suffix else ''}{self.name}"


VARIANTS = {
    "slim": Variant("slim", "Dockerfile", {"PYTHON_IMAGE": "slim"}, "PYTHON_IMAGE"),
    "distroless": Variant(
        "distroless",
        "Dockerfile.distroless",
        {"PYTHON_IMAGE": "slim", "DISTROLESS_IMAGE": "distroless"},
        "DISTROLESS_IMAGE",
    ),
}


# ---- small helpers ---------------------------------------------------------


def capture(*args: str, check: bool = True) -> str:
    """Run a command and return its stripped stdout."""
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise BuildError(f"`{' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout.strip()


def have(program: str) -> bool:
    return shutil.which(program) is not None


def succeeds(*args: str) -> bool:
    """True if the command exits 0; its output is dropped."""
    return subprocess.run(args, capture_output=True, check=False).returncode == 0


def docker_running() -> bool:
    return have("docker") and succeeds("docker", "info")


def source_date_epoch() -> int:
    """The one source of time: the last commit's, unless SOURCE_DATE_EPOCH is set."""
    if value := os.environ.get("SOURCE_DATE_EPOCH"):
        return int(value)
    return int(capture("git", "-C", str(ROOT), "log", "-1", "--format=%ct"))


def git_revision() -> str:
    return capture("git", "-C", str(ROOT), "rev-parse", "HEAD")


def tree_is_clean() -> bool:
    """True if no tracked file differs from the last commit."""
    return capture("git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no") == ""


def rfc3339(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def machine_arch() -> str:
    """The CPU the images are built for: the host's, as Debian and wheels name it."""
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def is_offline(flag: bool = False) -> bool:
    return flag or os.environ.get(OFFLINE_ENV, "") not in ("", "0")


# ---- builders ---------------------------------------------------------------


def version_tuple(text: str) -> tuple[int, ...]:
    """(26, 1, 5) from "26.1.5+dfsg1", (0, 13, 2) from "v0.13.2"; () if there is none."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", text.strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def buildkit_version(inspect_output: str) -> str:
    """The BuildKit version that `docker buildx inspect` reports, if any."""
    match = re.search(r"^BuildKit version:\s*(\S+)", inspect_output, re.MULTILINE)
    return match.group(1) if match else ""


@dataclasses.dataclass(frozen=True)
class DockerEngine:
    """What a Docker engine offers for reproducible builds."""

    version: str
    buildx: bool
    #: As buildx reports it. Debian's build says v0.0.0+unknown: then the
    #: engine version tells which BuildKit it ships.
    buildkit: str
    containerd_store: bool

    @classmethod
    def from_info(cls, info: Mapping[str, Any], *, buildx: bool, buildkit: str) -> DockerEngine:
        """From `docker info --format '{{json .}}'` and what buildx said."""
        return cls(
            version=str(info.get("ServerVersion", "")),
            buildx=buildx,
            buildkit=buildkit,
            containerd_store=["driver-type", CONTAINERD_STORE] in (info.get("DriverStatus") or []),
        )

    def why_not_reproducible(self) -> str | None:
        """Why this engine cannot build bit-for-bit, or None if it can."""
        buildkit = version_tuple(self.buildkit)
        if buildkit in ((), (0, 0, 0)):
            too_old = version_tuple(self.version) < DOCKER_REWRITE_TIMESTAMP
        else:
            too_old = buildkit < BUILDKIT_REWRITE_TIMESTAMP
        if too_old:
            return (
                f"Docker {self.version} ships a BuildKit older than 0.13, "
                "which cannot set the time of files in layers"
            )
        if not self.buildx:
            return "the buildx plugin is missing (Debian: apt-get install docker-buildx)"
        if not self.containerd_store:
            # Only the OCI exporter takes rewrite-timestamp, and the default
            # docker driver offers it only on the containerd image store.
            return (
                "BuildKit writes reproducible layers only to an OCI archive, which needs the "
                "containerd image store "
                '(daemon.json: {"features": {"containerd-snapshotter": true}})'
            )
        return None


@functools.cache
def docker_engine() -> DockerEngine | None:
    """The running Docker engine, or None if none answers."""
    if not docker_running():
        return None
    info = json.loads(capture("docker", "info", "--format", "{{json .}}"))
    buildx = succeeds("docker", "buildx", "version")
    inspected = capture("docker", "buildx", "inspect", check=False) if buildx else ""
    return DockerEngine.from_info(info, buildx=buildx, buildkit=buildkit_version(inspected))


#: Reads one member of an image archive, packed or unpacked; None if absent.
Reader = Callable[[str], bytes | None]


def tar_reader(tar: tarfile.TarFile) -> Reader:
    def read(name: str) -> bytes | None:
        try:
            member = tar.extractfile(name)
        except KeyError:
            return None
        return None if member is None else member.read()

    return read


def directory_reader(root: Path) -> Reader:
    return lambda name: (root / name).read_bytes() if (root / name).is_file() else None


def _required(read: Reader, name: str) -> bytes:
    data = read(name)
    if data is None:
        raise BuildError(f"{name} missing from the image archive")
    return data


def _blob(digest: str) -> str:
    return "blobs/" + digest.replace(":", "/")


def archive_paths(read: Reader) -> tuple[str, list[str]]:
    """Where the config and the layers (bottom first) are in a docker-archive or OCI layout."""
    if (docker_manifest := read("manifest.json")) is not None:
        entry = json.loads(docker_manifest)[0]
        return entry["Config"], list(entry["Layers"])
    document = json.loads(_required(read, "index.json"))
    while "manifests" in document:  # an index, perhaps of further indexes
        document = json.loads(_required(read, _blob(document["manifests"][0]["digest"])))
    return _blob(document["config"]["digest"]), [_blob(x["digest"]) for x in document["layers"]]


def archive_config(archive: Path) -> dict[str, Any]:
    """The image config in a docker-archive or OCI archive."""
    with tarfile.open(archive) as tar:
        read = tar_reader(tar)
        config, _ = archive_paths(read)
        return dict(json.loads(_required(read, config)))


def archive_layers(unpacked: Path) -> list[Path]:
    """The layer tarballs, bottom first, of an unpacked docker-archive or OCI archive."""
    _, layers = archive_paths(directory_reader(unpacked))
    return [unpacked / layer for layer in layers]


#: Archives of earlier runs are cleared on the first build of each run.
_archives_this_run: set[Path] = set()


def kept_archive(image_id: str) -> Path:
    return OCI_ARCHIVES / f"{image_id.removeprefix('sha256:')}.tar"


def keep_archive(archive: Path, image_id: str) -> Path:
    """Move an image archive to OCI_ARCHIVES, named by its image ID."""
    if not _archives_this_run and OCI_ARCHIVES.exists():
        shutil.rmtree(OCI_ARCHIVES)
    OCI_ARCHIVES.mkdir(parents=True, exist_ok=True)
    kept = kept_archive(image_id)
    shutil.move(archive, kept)
    _archives_this_run.add(kept)
    return kept


@dataclasses.dataclass(frozen=True)
class Inspected:
    """What a builder's store knows of an image."""

    image_id: str
    labels: dict[str, str]
    #: Uncompressed layer digests, bottom first.
    diff_ids: list[str]


@dataclasses.dataclass(frozen=True)
class Builder:
    """A container builder: buildah, podman or docker."""

    name: str

    @property
    def why_not_reproducible(self) -> str | None:
        """Why this builder's images differ between builds here, or None."""
        if self.name != "docker":
            # buildah and podman honour --timestamp for every file and date
            # they write.
            return None
        engine = docker_engine()
        return "no Docker engine answers" if engine is None else engine.why_not_reproducible()

    @property
    def reproducible(self) -> bool:
        return self.why_not_reproducible is None

    @property
    def buildkit(self) -> bool:
        """True for Docker builds through BuildKit's reproducible OCI exporter."""
        return self.name == "docker" and self.reproducible

    def build(
        self,
        run: Runner,
        *,
        containerfile: Path,
        context: Path,
        tags: Sequence[str],
        build_args: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        timestamp: int,
        no_cache: bool = False,
    ) -> str:
        """Build with no network; return the image ID."""
        with tempfile.TemporaryDirectory() as scratch:
            iidfile = Path(scratch) / "iid"
            archive = Path(scratch) / "image.tar"
            command = ["docker", "buildx", "build"] if self.buildkit else [self.name, "build"]
            args = [*command, "--network=none", "--file", str(containerfile)]
            args += ["--iidfile", str(iidfile)]
            for tag in tags:
                args += ["--tag", tag]
            if self.buildkit:
                # BuildKit takes this build arg as the time of the config and
                # history; rewrite-timestamp clamps every file to it too.
                build_args = {"SOURCE_DATE_EPOCH": str(timestamp), **(build_args or {})}
            for key, value in (build_args or {}).items():
                args += ["--build-arg", f"{key}={value}"]
            for key, value in (labels or {}).items():
                args += ["--label", f"{key}={value}"]
            if self.buildkit:
                # Attestations would describe this build host; the image ID
                # is the proof, so they stay out of the image.
                args += ["--provenance=false", "--sbom=false"]
                names = ",".join(tags)
                args += [
                    "--output",
                    f'type=oci,dest={archive},rewrite-timestamp=true,"name={names}"',
                ]
            elif self.name != "docker":
                args += ["--timestamp", str(timestamp), "--identity-label=false"]
                # Docker's image format: OCI's has no HEALTHCHECK. --layers
                # caches steps, as docker build does.
                args += ["--format=docker", "--layers=true"]
            if no_cache:
                args += ["--no-cache"]
            run(*args, str(context))
            # For BuildKit's OCI exporter too, the ID is the config digest.
            image_id = iidfile.read_text().strip()
            if self.buildkit:
                kept = keep_archive(archive, image_id)
                run("docker", "load", "--quiet", "--input", str(kept))
        if self.name != "docker":
            image_id = self.normalize(image_id, tags)
        return image_id

    def version(self) -> str:
        """The builder's version: the same version is needed for the same IDs."""
        if self.name != "docker":
            return capture(self.name, "--version")
        engine = docker_engine()
        server = engine.version if engine else "no engine"
        buildx = capture("docker", "buildx", "version", check=False) or "no buildx"
        return f"Docker {server}, {buildx}"

    def archive(self, image_id: str, destination: Path) -> Path:
        """The image as a docker-archive or OCI archive, for looking inside."""
        if self.buildkit:
            return kept_archive(image_id)
        capture(self.name, "push", "--quiet", image_id, f"docker-archive:{destination}")
        return destination

    def normalize(self, image_id: str, tags: Sequence[str]) -> str:
        """Drop the per-build noise that buildah writes into a Docker-format config.

        buildah's Docker format records the ID of its working container (a
        random number, also as the hostname of images built FROM scratch),
        the intermediate image it committed from, and "FROM <id>" comments
        naming intermediate images; nothing in the image uses them (Docker
        gives every container its own hostname), but they change the image ID
        on every build. OCI format has none
        of them, and no HEALTHCHECK either, so the config is cleaned instead.
        """
        with tempfile.TemporaryDirectory() as scratch:
            raw = self.archive(image_id, Path(scratch) / "raw.tar")
            clean = Path(scratch) / "clean.tar"
            with (
                tarfile.open(raw) as source,
                tarfile.open(clean, "w", format=tarfile.PAX_FORMAT) as target,
            ):
                read = tar_reader(source)
                manifest = json.loads(_required(read, "manifest.json"))
                config = json.loads(_required(read, manifest[0]["Config"]))
                config.pop("container", None)
                config.pop("parent", None)
                for section in ("config", "container_config"):
                    if config.get(section, {}).get("Hostname"):
                        config[section]["Hostname"] = ""
                for entry in config.get("history", []):
                    if entry.get("comment", "").startswith("FROM "):
                        del entry["comment"]
                config_bytes = json.dumps(config, separators=(",", ":")).encode()
                config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
                manifest[0]["Config"] = config_name
                manifest[0]["RepoTags"] = None
                for member in source:
                    # manifest.json and the config are rewritten; repositories names tags.
                    if member.name == "repositories" or member.name.endswith(".json"):
                        continue
                    target.addfile(member, source.extractfile(member) if member.isfile() else None)
                for name, data in (
                    (config_name, config_bytes),
                    ("manifest.json", json.dumps(manifest).encode()),
                ):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    target.addfile(info, io.BytesIO(data))
            clean_id = "sha256:" + config_name.removesuffix(".json")
            capture(self.name, "pull", "--quiet", f"docker-archive:{clean}")
            for tag in tags:
                capture(self.name, "tag", clean_id, tag)
        return clean_id

    def inspect(self, image: str) -> Inspected | None:
        """An image's ID, labels and layers in this builder's store; None if it has none."""
        if self.name == "buildah":
            args = ["buildah", "inspect", "--type", "image", image]
        else:
            args = [self.name, "image", "inspect", image]
        result = subprocess.run(args, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            return None
        found = json.loads(result.stdout)
        if self.name == "buildah":
            image_id = found["FromImageID"]
            config, layers = found["OCIv1"]["config"], found["OCIv1"]["rootfs"]["diff_ids"]
        else:
            image_id = found[0]["Id"]
            config, layers = found[0]["Config"], found[0]["RootFS"].get("Layers")
        return Inspected(
            image_id=image_id if image_id.startswith("sha256:") else f"sha256:{image_id}",
            labels=dict(config.get("Labels") or {}),
            diff_ids=list(layers or []),
        )

    def image_id(self, image: str) -> str | None:
        found = self.inspect(image)
        return None if found is None else found.image_id

    def labels(self, image: str) -> dict[str, str]:
        """An image's labels; empty if there is no such image."""
        found = self.inspect(image)
        return {} if found is None else found.labels

    def pull(self, run: Runner, image: str) -> bool:
        try:
            run(self.name, "pull", image)
        except Exception:  # nox raises its own error type for a failed command
            return False
        return True

    def load_into_docker(self, run: Runner, images: Iterable[str]) -> None:
        """Copy images built here into the Docker engine, keeping their IDs."""
        # Docker's own builds are in the engine already.
        if self.name == "docker" or not docker_running():
            return
        for image in images:
            # Docker keeps the short name the user will `docker run`.
            short = image.removeprefix("localhost/")
            docker_name = short if "/" not in short.split(":")[0] else image
            run(self.name, "push", "--quiet", image, f"docker-daemon:{docker_name}")


def pick_builder(requested: str | None) -> Builder:
    """The builder asked for, or the first reproducible one installed."""
    name = requested or os.environ.get(BUILDER_ENV) or ""
    if name:
        if name not in BUILDERS:
            raise BuildError(f"unknown builder {name!r}: choose one of {', '.join(BUILDERS)}")
        if not have(name):
            raise BuildError(f"builder {name!r} is not installed")
        return Builder(name)
    for candidate in BUILDERS:
        if have(candidate) and (candidate != "docker" or docker_running()):
            return Builder(candidate)
    raise BuildError("no container builder found: install buildah, podman or docker")


def local_name(builder: Builder, image: str) -> str:
    """How `image` is named once built: buildah and podman add localhost/."""
    if builder.name != "docker" and "/" not in image.split(":", maxsplit=1)[0]:
        return f"localhost/{image}"
    return image


# ---- wheelhouse ---------------------------------------------------------------


def download_wheelhouse(run: Runner, *, python: str, arch: str) -> None:
    """Fetch exactly the locked wheels for the image's Python and CPU."""
    if WHEELHOUSE.exists():
        shutil.rmtree(WHEELHOUSE)
    WHEELHOUSE.mkdir(parents=True)
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in (17, 28, 34, 39)]
    platforms += [f"manylinux2014_{arch}"]
    args = [python, "-m", "pip", "download", "--quiet", "--require-hashes", "--no-deps"]
    args += ["--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION]
    args += ["--abi", f"cp{PYTHON_VERSION.replace('.', '')}", "--abi", "abi3", "--abi", "none"]
    for name in platforms:
        args += ["--platform", name]
    args += ["--dest", str(WHEELHOUSE)]
    args += ["-r", str(ROOT / "requirements.txt"), "-r", str(ROOT / "requirements-build.txt")]
    run(*args)


# ---- bases ----------------------------------------------------------------------

#: apt's and dpkg's own state, which the distroless stand-in must not carry
#: (mmdebstrap cleans up after itself only once its hooks have run).
DISTROLESS_LEFTOVERS = (
    "./etc/apt",
    "./etc/hostname",
    "./etc/resolv.conf",
    "./var/cache/apt",
    "./var/cache/debconf",
    "./var/cache/ldconfig",
    "./var/lib/apt",
    "./var/lib/dpkg/alternatives",
    "./var/lib/dpkg/arch",
    "./var/lib/dpkg/info",
    "./var/lib/dpkg/status",
    "./var/lib/dpkg/triggers",
    "./var/lib/dpkg/updates",
    "./var/log/apt",
)


def build_rootfs(run: Runner, base: Base, *, epoch: int) -> Path:
    """Unpack Debian packages into base.workdir/rootfs.tar with mmdebstrap."""
    if not have("mmdebstrap"):
        raise BuildError("mmdebstrap is not installed (apt-get install mmdebstrap)")
    base.workdir.mkdir(parents=True, exist_ok=True)
    tarball = base.workdir / "rootfs.tar"
    hooks = ROOT / "bases"
    args = ["mmdebstrap", "--quiet", f"--variant={base.variant}"]
    if base.name == "slim":
        args += ["--include=python3", f'--customize-hook={hooks / "slim-hook.sh"} "$1"']
    else:
        package_list = hooks / "distroless-packages.txt"
        packages = [
            line.strip()
            for line in package_list.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        args += [f"--include={','.join(packages)}"]
        args += [f'--extract-hook={hooks / "distroless-hook.sh"} "$1" {package_list}']
    # No mirror argument: mmdebstrap picks Debian's default, and no host name
    # of ours goes into the repository.
    args += [SUITE, str(tarball)]
    run(*args, env={"SOURCE_DATE_EPOCH": str(epoch)})
    if base.name == "distroless":
        present = set(capture("tar", "--list", "--file", str(tarball)).splitlines())
        doomed = [m for m in DISTROLESS_LEFTOVERS if m in present or m + "/" in present]
        if doomed:
            run("tar", "--delete", "--file", str(tarball), *doomed)
    return tarball


def package_versions(tarball: Path) -> list[str]:
    """`name version` for every Debian package in a rootfs tarball."""
    found: list[str] = []
    with tarfile.open(tarball) as tar:
        for member in tar:
            name = member.name
            is_status = name == "./var/lib/dpkg/status"
            is_statusd = name.startswith("./var/lib/dpkg/status.d/") and not name.endswith(
                ".md5sums"
            )
            if not (member.isfile() and (is_status or is_statusd)):
                continue
            extracted = tar.extractfile(member)
            if extracted is None:  # pragma: no cover - isfile() members extract
                continue
            text = io.TextIOWrapper(extracted, encoding="utf-8").read()
            for stanza in text.split("\n\n"):
                fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
                if "Package" in fields and "Version" in fields:
                    found.append(f"{fields['Package']} {fields['Version']}")
    return sorted(found)


def write_bases_lock(tarballs: Mapping[str, Path]) -> None:
    """Record the exact package set of each base, so a drift can be explained."""
    lines = ["# Debian packages in each base stand-in, written by `nox -s bases`."]
    for name, tarball in tarballs.items():
        lines += ["", f"[{name}] rootfs.tar sha256:{sha256_file(tarball)}"]
        lines += package_versions(tarball)
    BASES_LOCK.write_text("\n".join(lines) + "\n")


def build_base(run: Runner, builder: Builder, base: Base, tarball: Path, *, epoch: int) -> str:
    shutil.copy(base.containerfile, base.workdir / "Containerfile")
    image_id = builder.build(
        run,
        containerfile=base.workdir / "Containerfile",
        context=base.workdir,
        tags=[base.standin],
        labels=base.expected_labels(epoch),
        timestamp=epoch,
        # buildah's cache ignores --timestamp; a base is one quick ADD anyway.
        no_cache=True,
    )
    builder.load_into_docker(run, [base.standin])
    return image_id


# ---- app images -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Built:
    variant: str
    tags: list[str]
    base: str
    image_id: str


def build_variant(
    run: Runner,
    builder: Builder,
    variant: Variant,
    bases: Mapping[str, str],
    *,
    epoch: int,
    revision: str,
    version: str,
    no_cache: bool = False,
    load: bool = True,
) -> Built:
    short = revision[:12]
    tags = [variant.tag(), variant.tag(version), variant.tag(short)]
    build_args = {arg: bases[base_name] for arg, base_name in variant.base_args.items()}
    build_args |= {
        "SOURCE_DATE_EPOCH": str(epoch),
        "PYTHON_VERSION": PYTHON_VERSION,
        "VERSION": version,
        "REVISION": revision,
        "CREATED": rfc3339(epoch),
    }
    # The same values again as --label: buildah 1.28's layer cache reuses a
    # LABEL step even when the build arg it expands has changed.
    labels = {
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": revision,
        CREATED_LABEL: build_args["CREATED"],
        "org.opencontainers.image.base.name": build_args[variant.runtime_arg],
    }
    image_id = builder.build(
        run,
        containerfile=ROOT / variant.dockerfile,
        context=ROOT,
        tags=tags,
        build_args=build_args,
        labels=labels,
        timestamp=epoch,
        no_cache=no_cache,
    )
    if load:
        builder.load_into_docker(run, [local_name(builder, tag) for tag in tags])
    return Built(variant.name, tags, build_args[variant.runtime_arg], image_id)


def image_size(builder: Builder, image: str) -> int | None:
    engine = "docker" if docker_running() else builder.name
    if engine == "buildah":
        engine = "podman" if have("podman") else ""
    if not engine:
        return None
    out = capture(engine, "image", "inspect", "--format", "{{.Size}}", image, check=False)
    return int(out) if out.isdigit() else None


def write_images_json(
    built: Sequence[Built], builder: Builder, *, epoch: int, revision: str, offline: bool
) -> None:
    """What `nox -s build` made, for the sessions after it and for `nox -s publish`."""
    IMAGES_JSON.parent.mkdir(parents=True, exist_ok=True)
    IMAGES_JSON.write_text(
        json.dumps(
            {
                "builder": builder.name,
                "builder_version": builder.version(),
                "reproducible": builder.reproducible,
                "source_date_epoch": epoch,
                "revision": revision,
                # Built from uncommitted changes: the IDs belong to no commit.
                "tree_clean": tree_is_clean(),
                "offline": offline,
                "arch": machine_arch(),
                "images": [dataclasses.asdict(b) for b in built],
            },
            indent=2,
        )
        + "\n"
    )


def table(rows: Sequence[Sequence[str]]) -> str:
    """A plain markdown table: the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def human_size(size: int | None) -> str:
    return "?" if size is None else f"{size / 1e6:.1f} MB"


# ---- reproducibility ------------------------------------------------------------


def diff_ids(builder: Builder, image: str) -> list[str]:
    """The uncompressed layer digests of an image, bottom first."""
    if builder.buildkit:
        # The containerd image store knows images by manifest, not config, digest.
        return list(archive_config(kept_archive(image))["rootfs"]["diff_ids"])
    found = builder.inspect(image)
    if found is None:
        raise BuildError(f"{builder.name} has no image {image}")
    return found.diff_ids


def layer_listing(layer: tarfile.TarFile) -> dict[str, str]:
    """Every entry of a layer tarball, with what makes it differ."""
    listing = {}
    for member in layer:
        content = ""
        if member.isfile():
            extracted = layer.extractfile(member)
            if extracted is not None:
                content = hashlib.sha256(extracted.read()).hexdigest()[:16]
        listing[member.name] = (
            f"{member.mode:o} {member.uid}:{member.gid} {member.size} mtime={member.mtime} "
            f"{member.linkname or content}"
        )
    return listing


def explain_difference(builder: Builder, first: str, second: str, limit: int = 40) -> list[str]:
    """Say which files differ between the layers of two builds of an image."""
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        layers: list[list[Path]] = []
        for index, image in enumerate((first, second)):
            archive = builder.archive(image, Path(scratch) / f"{index}.tar")
            unpacked = Path(scratch) / str(index)
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
            layers.append(archive_layers(unpacked))
        for number, (a, b) in enumerate(zip(*layers, strict=False), start=1):
            with tarfile.open(a) as ta, tarfile.open(b) as tb:
                left, right = layer_listing(ta), layer_listing(tb)
            changed = sorted(
                name for name in left.keys() | right.keys() if left.get(name) != right.get(name)
            )
            for name in changed[:limit]:
                lines.append(f"layer {number}: {name}")
                lines.append(f"    first:  {left.get(name, '(absent)')}")
                lines.append(f"    second: {right.get(name, '(absent)')}")
            if len(changed) > limit:
                lines.append(f"layer {number}: ... and {len(changed) - limit} more")
        if len(layers[0]) != len(layers[1]):
            lines.append(f"layer count differs: {len(layers[0])} vs {len(layers[1])}")
    return lines


# ---- publishing -------------------------------------------------------------------

#: The image IDs of one commit, as built here, for other machines to check.
PUBLISHED_IDS = ROOT / "docs" / "image-ids.json"


def publication(images_json: Mapping[str, Any], bases_lock: str) -> dict[str, Any]:
    """What a build publishes: its commit, builder, bases and image IDs."""
    return {
        "commit": images_json["revision"],
        "source_date_epoch": images_json["source_date_epoch"],
        "builder": images_json["builder"],
        "builder_version": images_json["builder_version"],
        "offline": images_json["offline"],
        "arch": images_json["arch"],
        "images": {image["tags"][0]: image["image_id"] for image in images_json["images"]},
        # The stand-ins' packages: when the IDs differ, these say whether the
        # Debian mirror moved in between.
        "bases_lock": bases_lock.splitlines() if images_json["offline"] else [],
    }


@dataclasses.dataclass(frozen=True)
class Verdict:
    """How a rebuild compares with what was published."""

    #: "same", "differs", or "incomparable" (another builder, CPU or mirror).
    status: str
    #: The table of IDs, and what made them incomparable.
    lines: list[str]
    reason: str = ""


def compare_publication(published: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> Verdict:
    """Compare a rebuild of the published commit with the published IDs."""
    for key in ("builder_version", "arch"):
        if published[key] != rebuilt[key]:
            reason = f"published with {key} {published[key]!r}, rebuilt with {rebuilt[key]!r}"
            return Verdict("incomparable", [reason], reason)
    rows = [["image", "published", "rebuilt", "same"]]
    for tag, image_id in published["images"].items():
        again = rebuilt["images"].get(tag, "(not built)")
        rows.append([tag, image_id, again, str(image_id == again)])
    lines = table(rows).splitlines()
    if published["images"] == rebuilt["images"]:
        return Verdict("same", lines)
    if published["bases_lock"] != rebuilt["bases_lock"]:
        moved = [
            line
            for line in difflib.unified_diff(
                published["bases_lock"], rebuilt["bases_lock"], "published", "rebuilt", lineterm=""
            )
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        reason = "the Debian mirror moved since publication (build/bases.lock)"
        return Verdict("incomparable", [*lines, f"{reason}:", *moved], reason)
    return Verdict("differs", lines)
