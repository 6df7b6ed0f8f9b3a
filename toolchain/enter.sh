#!/bin/sh
# Run a command with the locked toolchain in place of the host's programs:
#   enter.sh ROOT COMMAND [ARG...]
# In a mount namespace of its own, ROOT's /usr and /etc are mounted over the
# host's (so /bin, /lib and /sbin, links into /usr, follow), and everything
# else stays the host's: the kernel, /proc, /dev, /tmp, /var (the image
# store), /run (the engine's socket) and every path a caller names, so no path
# needs translating. Of /etc, only what says where the network is (hosts,
# resolv.conf) and which CAs to trust stays the host's. The mounts end with
# the command. Needs root (CAP_SYS_ADMIN) and a merged /usr, as Debian 12 and
# 13 have.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: enter.sh ROOT COMMAND [ARG...]" >&2
  exit 2
fi
for link in /bin /lib /sbin; do
  if [ ! -L "$link" ]; then
    echo "enter.sh: $link is not a link into /usr: the toolchain needs a merged /usr (apt-get install usrmerge)" >&2
    exit 1
  fi
done
exec unshare --mount --propagation private -- /bin/sh -eu -c '
root=$1
shift
for file in hosts resolv.conf ssl/certs/ca-certificates.crt; do
  if [ -f "/etc/$file" ] && [ -f "$root/etc/$file" ]; then
    mount --bind "/etc/$file" "$root/etc/$file"
  fi
done
mount --rbind "$root/etc" /etc
mount --rbind "$root/usr" /usr
exec "$@"
' enter.sh "$@"
