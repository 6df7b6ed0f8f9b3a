"""The scripts the image builds run (image/), run here against this interpreter."""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.paths import ROOT

CHECK_PYTHON = ROOT / "image" / "check_python.py"
THIS_PYTHON = "%d.%d" % sys.version_info[:2]  # noqa: UP031 -- the version's own format


def check_python(stage: str, wanted: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK_PYTHON), stage],
        env={**os.environ, "PYTHON_VERSION": wanted},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_python_check_passes_for_the_python_it_runs() -> None:
    result = check_python("builder", THIS_PYTHON)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("stage", ["builder", "runtime"])
def test_the_python_check_stops_a_wrong_base_and_names_the_stage(stage: str) -> None:
    result = check_python(stage, "2.7")
    assert result.returncode == 1
    assert result.stderr.strip() == f"{stage} runs Python {THIS_PYTHON}, the wheels are for 2.7"


# ---- the standard library's bytecode: exported in one stage, compiled in another ----

EXPORT_STDLIB = ROOT / "image" / "export_stdlib.py"
PRECOMPILE = ROOT / "image" / "precompile.py"
THIS_STDLIB = os.path.dirname(os.__file__)


def run_script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One of the image's scripts, with the app importable and no bytecode written."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    env["PYTHONHASHSEED"] = "0"  # as the builder stage sets it
    return subprocess.run(
        [sys.executable, str(script), *args], env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This interpreter's standard library, exported as the runtime-python stage does."""
    dest = tmp_path_factory.mktemp("runtime-python")
    result = run_script(EXPORT_STDLIB, str(dest))
    assert result.returncode == 0, result.stderr
    return dest


def test_the_export_names_the_library_and_copies_its_sources_only(exported: Path) -> None:
    described = json.loads((exported / "runtime.json").read_text())
    assert described == {"stdlib": THIS_STDLIB, "multiarch": sys.implementation._multiarch}
    copied = exported / "root" / THIS_STDLIB.lstrip("/")
    assert (copied / "os.py").read_bytes() == Path(THIS_STDLIB, "os.py").read_bytes()
    assert (copied / "json" / "__init__.py").is_file()
    files = [path for path in copied.rglob("*") if path.is_file()]
    assert files
    assert all(path.suffix == ".py" for path in files)
    assert not any(part in {"__pycache__", "site-packages"} for p in files for part in p.parts)


def precompile(exported: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Both steps, as the stdlib-modules and stdlib-bytecode stages run them."""
    listed = out.parent / f"{out.name}-modules.json"
    result = run_script(PRECOMPILE, "list", str(listed))
    assert result.returncode == 0, result.stderr
    return run_script(PRECOMPILE, "compile", str(exported), str(listed), str(out))


def test_the_module_list_is_the_same_every_time_and_names_this_pythons_cpu(
    tmp_path: Path,
) -> None:
    lists = []
    for name in ("first", "second"):
        result = run_script(PRECOMPILE, "list", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        lists.append((tmp_path / name).read_bytes())
    assert lists[0] == lists[1]
    listed = json.loads(lists[0])
    assert listed["multiarch"] == sys.implementation._multiarch
    assert "json/__init__.py" in listed["modules"]
    assert listed["modules"] == sorted(listed["modules"])


def test_precompile_without_its_arguments_says_how_to_call_it() -> None:
    result = run_script(PRECOMPILE, "compile", "only-one")
    assert result.returncode == 1
    assert "usage: precompile.py list MODULES.json | compile" in result.stderr


def pyc_header(path: Path) -> tuple[bytes, int]:
    """A .pyc's magic number and its flags (PEP 552)."""
    data = path.read_bytes()
    return data[:4], int.from_bytes(data[4:8], "little")


def test_precompile_compiles_the_runtimes_copy_of_what_the_app_loads(
    exported: Path, tmp_path: Path
) -> None:
    # The runtime's library differs from this one: an edited module, a missing one.
    runtime = exported.parent / "edited"
    shutil.copytree(exported, runtime)
    copied = runtime / "root" / THIS_STDLIB.lstrip("/")
    (copied / "json" / "__init__.py").write_text("RUNTIME_COPY = True\n")
    (copied / "base64.py").unlink()
    # ...and a CPU of its own: sysconfig's data module carries its name.
    ours = sys.implementation._multiarch
    sysconfigdata = next(copied.glob(f"_sysconfigdata_*{ours}.py"))
    sysconfigdata.rename(copied / sysconfigdata.name.replace(ours, "other-linux-gnu"))
    described = json.loads((runtime / "runtime.json").read_text())
    (runtime / "runtime.json").write_text(
        json.dumps({**described, "multiarch": "other-linux-gnu"})
    )
    out = tmp_path / "out"
    result = precompile(runtime, out)
    assert result.returncode == 0, result.stderr
    assert "not in the runtime's standard library: base64.py" in result.stdout

    def compiled(module: str) -> Path:
        cached = importlib.util.cache_from_source(os.path.join(THIS_STDLIB, module))
        return out / cached.lstrip("/")

    json_pyc = compiled("json/__init__.py")
    # Unchecked-hash bytecode for this Python, made from the runtime's source,
    # naming the runtime's path.
    assert pyc_header(json_pyc) == (importlib.util.MAGIC_NUMBER, 0b01)
    code = marshal.loads(json_pyc.read_bytes()[16:])  # noqa: S302 -- our own output
    assert "RUNTIME_COPY" in code.co_names
    assert code.co_filename == os.path.join(THIS_STDLIB, "json/__init__.py")
    assert compiled("os.py").is_file()
    assert not compiled("base64.py").exists()
    assert compiled(sysconfigdata.name.replace(ours, "other-linux-gnu")).is_file()
    # Only what serving loads: nothing the app never imports.
    assert not compiled("smtplib.py").exists()
    assert all(path.suffix == ".pyc" for path in out.rglob("*") if path.is_file())


def test_precompile_writes_the_same_bytes_every_time(exported: Path, tmp_path: Path) -> None:
    trees = []
    for name in ("first", "second"):
        result = precompile(exported, tmp_path / name)
        assert result.returncode == 0, result.stderr
        trees.append(
            {
                path.relative_to(tmp_path / name): path.read_bytes()
                for path in (tmp_path / name).rglob("*.pyc")
            }
        )
    assert len(trees[0]) > 50
    assert trees[0] == trees[1]
