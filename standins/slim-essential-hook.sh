#!/bin/sh
# mmdebstrap --essential-hook for the python:3.13-slim-trixie stand-in, run as
#   slim-essential-hook.sh ROOTFS
# once the essential packages are in and before python3 is installed.
set -eu
umask 022
root=$1

# python:3.13-slim carries no bytecode of its standard library (it deletes
# every .pyc), and neither does this stand-in. Debian's python3.13 packages
# compile all of it in their maintainer scripts, which for arm64 run under
# qemu and take minutes, only for the customize hook to delete it. So until
# then py_compile is a stub that compiles nothing: a local dpkg diversion
# keeps the packaged module aside, and slim-hook.sh puts it back.
dpkg-divert --root "$root" --quiet --local --rename \
  --divert /usr/lib/python3.13/py_compile.py.moscow-time --add /usr/lib/python3.13/py_compile.py
mkdir -p "$root/usr/lib/python3.13"
cat >"$root/usr/lib/python3.13/py_compile.py" <<'STUB'
# Compiles nothing while the stand-in is installed (standins/slim-essential-hook.sh).
import sys

if sys.argv[1:] == ["-"]:  # py3compile sends the file names on stdin
    sys.stdin.read()
STUB
