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
#
# The wheels are the image's CPU's ($WHEEL_MACHINE, default: this one's),
# which may not be the builder's: pip is told the image's platform and
# Python, so it installs exactly those wheels without running them.
set -eu
wheelhouse=$1
locks=$2
target=$3
machine=${WHEEL_MACHINE:-$(uname -m)}
# The image's Python (a build arg); the builder's, which check_python.py made equal, if unset.
version=${PYTHON_VERSION:-$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')}
abi=cp$(echo "$version" | tr -d .)

set -- "$wheelhouse"/pip-*.whl
pip_wheel=$1
pip_hash=$(sha256sum "$pip_wheel")
pip_hash=${pip_hash%% *}
grep -q "sha256:$pip_hash" "$locks/requirements-build.txt" \
  || { echo "$pip_wheel does not match requirements-build.txt" >&2; exit 1; }

# The manylinux tags a cp313 wheel of ours may carry (tools/inputs/wheelhouse.py).
platforms=""
for tag in manylinux_2_17 manylinux_2_28 manylinux_2_34 manylinux_2_39 manylinux2014; do
  platforms="$platforms --platform ${tag}_$machine"
done
# shellcheck disable=SC2086 # $platforms is a list of options
python3 "$pip_wheel/pip" install --no-index --find-links "$wheelhouse" \
  --require-hashes --no-deps --only-binary :all: --no-compile --no-cache-dir \
  --disable-pip-version-check --target "$target" \
  --implementation cp --python-version "$version" --abi "$abi" --abi abi3 --abi none $platforms \
  -r "$locks/requirements.txt"
# Console scripts: nothing runs them, and their shebangs name the builder's Python.
rm -rf "$target/bin"
python3 -m compileall -q --invalidation-mode unchecked-hash "$target"
