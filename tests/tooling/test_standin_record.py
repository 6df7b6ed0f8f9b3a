"""tools.images.standins' package record: each stand-in's packages, kept across sessions that
make only some of them, and read back for the platforms a publication names."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tools.images import standins
from tools.model import BASES, PLATFORMS
from tools.process import BuildError

AMD64, ARM64 = PLATFORMS["linux/amd64"], PLATFORMS["linux/arm64"]


def rootfs(directory: Path, name: str, packages: dict[str, str]) -> Path:
    """A rootfs tarball whose dpkg status lists these packages."""
    status = "\n\n".join(
        f"Package: {p}\nStatus: install ok installed\nVersion: {v}" for p, v in packages.items()
    )
    data = (status + "\n").encode()
    tarball = directory / f"{name}.tar"
    with tarfile.open(tarball, "w") as tar:
        member = tarfile.TarInfo("./var/lib/dpkg/status")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    return tarball


def tarballs(directory: Path, platform_name: str, libc: str) -> dict[str, Path]:
    platform = PLATFORMS[platform_name]
    return {
        base.standin_for(platform): rootfs(
            directory, f"{base.name}-{platform.debian}", {"libc6": libc, base.name: "1"}
        )
        for base in BASES.values()
    }


def test_making_one_platform_keeps_the_other_platforms_sections(tmp_path: Path) -> None:
    record = tmp_path / "standin-packages.txt"
    standins.write_standin_packages(tarballs(tmp_path, "linux/amd64", "2.41-12"), record)
    standins.write_standin_packages(tarballs(tmp_path, "linux/arm64", "2.41-13"), record)
    sections = standins.record_sections(record.read_text())
    assert list(sections) == standins.every_standin([AMD64, ARM64])
    assert all("libc6 2.41-12" in sections[name] for name in standins.every_standin([AMD64]))
    assert all("libc6 2.41-13" in sections[name] for name in standins.every_standin([ARM64]))


def test_a_platform_made_again_replaces_only_its_own_sections(tmp_path: Path) -> None:
    record = tmp_path / "standin-packages.txt"
    standins.write_standin_packages(tarballs(tmp_path, "linux/amd64", "2.41-12"), record)
    standins.write_standin_packages(tarballs(tmp_path, "linux/arm64", "2.41-12"), record)
    standins.write_standin_packages(tarballs(tmp_path, "linux/amd64", "2.41-14"), record)
    text = record.read_text()
    assert text.startswith(standins.RECORD_HEADER + "\n\n[")
    assert text.count("libc6 2.41-14") == len(BASES)
    assert text.count("libc6 2.41-12") == len(BASES)


def test_a_publication_reads_only_its_platforms_sections(tmp_path: Path) -> None:
    record = tmp_path / "standin-packages.txt"
    standins.write_standin_packages(tarballs(tmp_path, "linux/amd64", "2.41-12"), record)
    standins.write_standin_packages(tarballs(tmp_path, "linux/arm64", "2.41-13"), record)
    published = standins.recorded_packages([AMD64], record)
    assert list(standins.record_sections(published)) == standins.every_standin([AMD64])
    assert "2.41-13" not in published
    assert published.splitlines()[0] == standins.RECORD_HEADER


@pytest.mark.parametrize("written", [None, "linux/arm64"])
def test_a_platform_with_no_record_is_refused_with_the_session_that_writes_it(
    tmp_path: Path, written: str | None
) -> None:
    record = tmp_path / "standin-packages.txt"
    if written:
        standins.write_standin_packages(tarballs(tmp_path, written, "2.41-12"), record)
    with pytest.raises(BuildError) as refused:
        standins.recorded_packages([AMD64, ARM64], record)
    message = str(refused.value)
    assert "`nox -s standins -- --no-cache --platform linux/amd64`" in message
    assert ("linux/arm64" in message) is (written is None)
