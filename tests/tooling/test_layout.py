"""The layout: tools/ folders are pipeline stages, and each imports only from earlier ones.

docs/architecture.md draws the map this checks: shared helpers first, then
inputs → builders → images → checks → release → rebuild, and the measurements
and the nox glue last. A module that imports from a later stage, even inside a
function, climbs against the pipeline and fails here; so do a module over 300
lines and a function over 50.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.paths import ROOT

#: Each stage's rank: a module may import from its own rank or a lower one.
RANKS = {
    "tools.paths": 0, "tools.process": 0, "tools.model": 0, "tools.settings": 0,
    "tools.tables": 0, "tools.loopback": 0, "tools.wrk": 0, "tools.debtools": 0,
    "tools.buildenv": 0, "tools.cacheroots": 0,
    "tools.inputs": 1, "tools.builders": 2, "tools.images": 3,
    "tools.containers": 4, "tools.checks": 4, "tools.scan": 4,
    "tools.release": 5, "tools.rebuild": 6,
    "tools.bench": 7, "tools.stress": 7, "tools.mutants": 7, "tools.noxglue": 8,
}  # fmt: skip
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 50
SOURCES = sorted((ROOT / "tools").rglob("*.py"))


def stage(module: str) -> str:
    """The stage a dotted module name belongs to: its longest prefix in RANKS."""
    parts = module.split(".")
    for size in range(len(parts), 0, -1):
        if (prefix := ".".join(parts[:size])) in RANKS:
            return prefix
    raise AssertionError(f"{module} is in no stage: add it to RANKS and docs/architecture.md")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imported(tree: ast.AST, package: str) -> Iterator[tuple[int, str]]:
    """Every tools.* module a tree imports, anywhere in it, with the line."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("tools"))
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative: resolve against the importing package
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.startswith("tools"):
                for alias in node.names:  # `from tools import images` imports tools.images
                    yield node.lineno, f"{base}.{alias.name}" if base == "tools" else base


def climbs(name: str, source: str) -> list[str]:
    """The imports of module `name` (its `source`) that climb, a line each."""
    own = stage(name)
    return [
        f"{name}:{line} imports {target} ({stage(target)}, after {own})"
        for line, target in imported(ast.parse(source), name)
        if RANKS[stage(target)] > RANKS[own]
    ]


def test_no_import_climbs_against_the_pipeline() -> None:
    stages = [path for path in SOURCES if path != ROOT / "tools" / "__init__.py"]
    found = [c for path in stages for c in climbs(module_name(path), path.read_text())]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "def late() -> None:\n    from tools.release import vsa\n",
        "\nfrom tools import release\n",
        "\nimport tools.release.vsa\n",
    ],
)
def test_a_climb_is_found_however_it_is_written(source: str) -> None:
    assert climbs("tools.inputs.planted", source) == [
        f"tools.inputs.planted:2 imports tools.release{'.vsa' if 'import tools' in source else ''}"
        " (tools.release, after tools.inputs)"
    ]


def test_an_import_from_an_earlier_stage_or_its_own_is_not_a_climb() -> None:
    source = "from tools.inputs import aptlock\nfrom tools.images.record import BuildRecord\n"
    assert climbs("tools.release.planted", source) == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_the_noxfile_stays_a_menu() -> None:
    assert len((ROOT / "noxfile.py").read_text().splitlines()) <= MAX_MODULE_LINES
