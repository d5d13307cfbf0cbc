#!/usr/bin/env bash
# Installs a Banter .deb on a clean Debian (or Ubuntu) of the host's release: a
# minimal system made with debootstrap from the distribution's mirror, the package
# installed with apt (its dependencies from the mirror), `banter --version` run inside,
# then the package removed. Needs root (uses sudo otherwise).
#   bash scripts/deb-check.sh DEB
# The clean system is kept as a tarball under target/ so that a second run skips
# debootstrap; each run unpacks a fresh copy.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(realpath "$1")
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
. /etc/os-release
case "$ID" in
  debian) mirror=http://deb.debian.org/debian ;;
  ubuntu) mirror=http://archive.ubuntu.com/ubuntu ;;
  *) echo "deb-check: $ID is neither Debian nor Ubuntu" >&2; exit 1 ;;
esac
suite=$VERSION_CODENAME
cache=target/deb-check/$ID-$suite-minbase.tar
mkdir -p target/deb-check
if [ ! -s "$cache" ]; then
  base=$(mktemp -d)
  $SUDO debootstrap --variant=minbase "$suite" "$base" "$mirror" >&2
  $SUDO tar -C "$base" -cf "$cache.part" .
  $SUDO rm -rf "$base"
  mv "$cache.part" "$cache"
fi
root=$(mktemp -d)
cleanup() {
  $SUDO umount "$root/proc" 2>/dev/null || true
  $SUDO rm -rf "$root"
}
trap cleanup EXIT
$SUDO tar -C "$root" -xf "$cache"
$SUDO mount -t proc proc "$root/proc"
$SUDO cp /etc/resolv.conf "$root/etc/resolv.conf"
$SUDO cp "$deb" "$root/tmp/banter.deb"
in_root() { $SUDO chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get update -q >&2
in_root apt-get install -y -q --no-install-recommends /tmp/banter.deb >&2
echo "installed: $(in_root dpkg-query -W -f '${Package} ${Version} ${Status}' banter)"
echo "runs: $(in_root banter --version)"
for f in /usr/share/applications/im.banter.Banter.desktop /usr/share/metainfo/im.banter.Banter.metainfo.xml /usr/share/icons/hicolor/scalable/apps/im.banter.Banter.svg; do
  [ -s "$root$f" ] || { echo "deb-check: $f missing" >&2; exit 1; }
done
in_root apt-get remove -y -q banter >&2
if [ -e "$root/usr/bin/banter" ]; then
  echo "deb-check: /usr/bin/banter left after removal" >&2
  exit 1
fi
echo "removed: clean"
