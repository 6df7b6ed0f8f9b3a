#!/bin/sh
# mmdebstrap --extract-hook for the distroless stand-in, run as
#   distroless-hook.sh ROOTFS PACKAGE_LIST
# It turns a Debian unpack into what upstream's Bazel rules assemble: only the
# listed packages, dpkg metadata in status.d/ (which scanners read), the
# root/nobody/nonroot users, and nothing that runs a shell or a package manager.
set -eu
# Files written here get the same modes whatever the caller's umask.
umask 022
root=$1
wanted=$(grep -v '^#' "$2" | grep .)
archives=$root/var/cache/apt/archives
statusd=$root/var/lib/dpkg/status.d

is_wanted() { printf '%s\n' "$wanted" | grep -qx "$1"; }

# apt unpacked the hard dependencies too (debconf, mawk, python3-pip-whl...);
# upstream does not, so take their files out again.
mkdir -p "$statusd"
for deb in "$archives"/*.deb; do
  package=$(dpkg-deb --field "$deb" Package)
  if is_wanted "$package"; then
    # One control file per package, and its md5sums, as upstream writes them.
    dpkg-deb --field "$deb" >"$statusd/$package"
    dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./md5sums >"$statusd/$package.md5sums" 2>/dev/null \
      || rm -f "$statusd/$package.md5sums"
  else
    dpkg-deb --fsys-tarfile "$deb" | tar -t | sort -r | while read -r path; do
      case $path in
        */) rmdir "$root/$path" 2>/dev/null || true ;;
        *) rm -f "$root/$path" ;;
      esac
    done
  fi
done
for package in $wanted; do
  [ -f "$statusd/$package" ] || { echo "distroless-hook: $package was not unpacked" >&2; exit 1; }
done

# apt's own state stays until mmdebstrap has cleaned up after itself; the
# bases session then deletes it from the tarball (tools/bases.py).

# Users as upstream's common/BUILD.bazel writes them.
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
GROUP
install -d -m 0700 "$root/root"
install -d -m 0700 -o 65532 -g 65532 "$root/home/nonroot"
install -d -m 1777 "$root/tmp"

# The interpreter at the paths upstream's image has.
ln -sf python3.13 "$root/usr/bin/python3"
ln -sf python3 "$root/usr/bin/python"

# A loader cache, as upstream's debian13 image ships, written by the root's own
# ldconfig (static; under qemu for arm64): the cache is the root's glibc's format,
# whoever runs the hook.
chroot "$root" /sbin/ldconfig
rm -rf "$root/var/cache/ldconfig"

# Nothing here may run a shell.
for shell in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash usr/bin/dash; do
  if [ -e "$root/$shell" ]; then echo "distroless-hook: /$shell is present" >&2; exit 1; fi
done
