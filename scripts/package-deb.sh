#!/usr/bin/env bash
# Builds Banter's .deb from a built binary: the program, its .desktop entry, AppStream
# metadata and icon; Depends from the libraries it links (dpkg-shlibdeps) plus those
# the window opens at run time (GL, X11, Wayland, xkbcommon). Prints the .deb's path.
#   bash scripts/package-deb.sh [BINARY] [OUT_DIR]
# (by default target/release/banter, built first if missing, into target/deb)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/banter}
out=${2:-target/deb}
if [ ! -x "$bin" ] && [ "$bin" = target/release/banter ]; then
  cargo build --release --bin banter >&2
fi
version=$(sed -n '/^\[workspace.package\]/,/^\[/ s/^version = "\(.*\)"/\1/p' Cargo.toml)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/banter_${version}_${arch}
install -Dm755 "$bin" "$root/usr/bin/banter"
strip --strip-debug "$root/usr/bin/banter"
install -Dm644 assets/im.banter.Banter.desktop "$root/usr/share/applications/im.banter.Banter.desktop"
install -Dm644 assets/im.banter.Banter.metainfo.xml "$root/usr/share/metainfo/im.banter.Banter.metainfo.xml"
install -Dm644 assets/im.banter.Banter.svg "$root/usr/share/icons/hicolor/scalable/apps/im.banter.Banter.svg"
install -d "$root/usr/share/doc/banter"
printf '%s\n' \
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" \
  "Upstream-Name: banter" "" "Files: *" "Copyright: The Banter developers" \
  "License: GPL-3.0-or-later" \
  " On Debian systems the full text is in /usr/share/common-licenses/GPL-3." \
  >"$root/usr/share/doc/banter/copyright"
# dpkg-shlibdeps reads a debian/control beside it.
mkdir -p "$stage/debian"
printf 'Source: banter\n\nPackage: banter\nArchitecture: any\n' >"$stage/debian/control"
linked=$(cd "$stage" && dpkg-shlibdeps -O -e "$root/usr/bin/banter" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
# Opened with dlopen by the window (eframe/winit/glutin), so not seen above.
opened="libegl1 | libgl1, libx11-6, libx11-xcb1, libxcursor1, libxi6, libxrandr2, libxkbcommon-x11-0, libxkbcommon0, libwayland-client0, libwayland-cursor0, libwayland-egl1"
size=$(du -sk "$root/usr" | cut -f1)
mkdir -p "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: banter
Version: $version
Architecture: $arch
Maintainer: The Banter developers <banter@localhost>
Installed-Size: $size
Depends: $linked, $opened
Recommends: prosody
Suggests: gnome-keyring
Section: net
Priority: optional
Description: voice and video calls and chat over XMPP
 Banter is a desktop XMPP client built around calls: audio and video with
 Conversations, Dino, Monal and browser clients, chats encrypted end to end
 (OMEMO), group chats and files. Try it locally needs Prosody.
CONTROL
mkdir -p "$out"
deb=$out/banter_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz -z6 --build "$root" "$deb" >&2
echo "$deb"
