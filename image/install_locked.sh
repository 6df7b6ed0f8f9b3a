#!/bin/sh
# Install the runtime lock into a target directory, offline: the builder
# stage of both Dockerfiles runs it as
#   install_locked.sh WHEELHOUSE LOCKS_DIR TARGET
#
# pip itself is pinned in requirements-build.txt and run from its wheel, after
# checking the wheel against that hash; the base's pip (if any) is not used.
# It then installs every wheel by name (so no direct_url.json), hash-checked,
# with no index and no dependency resolution; --no-compile because bytecode
# is compiled afterwards, deterministically (unchecked-hash, no mtimes).
set -eu
wheelhouse=$1
locks=$2
target=$3

set -- "$wheelhouse"/pip-*.whl
pip_wheel=$1
pip_hash=$(sha256sum "$pip_wheel")
pip_hash=${pip_hash%% *}
grep -q "sha256:$pip_hash" "$locks/requirements-build.txt" \
  || { echo "$pip_wheel does not match requirements-build.txt" >&2; exit 1; }

python3 "$pip_wheel/pip" install --no-index --find-links "$wheelhouse" \
  --require-hashes --no-deps --only-binary :all: --no-compile --no-cache-dir \
  --disable-pip-version-check --target "$target" \
  -r "$locks/requirements.txt"
# Console scripts: nothing runs them, and their shebangs name the builder's Python.
rm -rf "$target/bin"
python3 -m compileall -q --invalidation-mode unchecked-hash "$target"
