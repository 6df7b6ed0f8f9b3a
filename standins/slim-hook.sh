#!/bin/sh
# mmdebstrap --customize-hook for the python:3.13-slim-trixie stand-in, run as
#   slim-hook.sh ROOTFS
set -eu
# Files written here get the same modes whatever the caller's umask.
umask 022
root=$1

# The packaged py_compile back in place of slim-essential-hook.sh's stub,
# and no bytecode of the standard library, as in the official image.
rm -f "$root/usr/lib/python3.13/py_compile.py"
dpkg-divert --root "$root" --quiet --local --rename --remove /usr/lib/python3.13/py_compile.py
rm -f "$root/var/lib/dpkg/diversions-old"
for library in "$root/usr/lib/python3" "$root/usr/lib/python3.13"; do
  if [ -d "$library" ]; then
    find "$library" -depth -name __pycache__ -type d -exec rm -rf {} +
  fi
done

# The official image keeps Python in /usr/local/bin; the Dockerfiles, and
# anything copied from them, may rely on those paths.
ln -sf /usr/bin/python3.13 "$root/usr/local/bin/python3.13"
ln -sf python3.13 "$root/usr/local/bin/python3"
ln -sf python3 "$root/usr/local/bin/python"

# No copy of this machine's hostname or resolver (the engine supplies both),
# no logs of the install, and no apt source: the stand-in is installed from
# the lock's local repository (standins/slim.*.lock), whose path means nothing
# inside the image.
rm -f "$root/etc/hostname" "$root/etc/resolv.conf" "$root/var/log/dpkg.log" \
  "$root/etc/apt/sources.list" \
  "$root/var/log/alternatives.log" "$root/var/log/bootstrap.log"
rm -rf "$root/var/log/apt" "$root/var/cache/ldconfig/aux-cache"
