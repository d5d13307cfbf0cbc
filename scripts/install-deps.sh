#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Banter needs to build and run; with --tests also
# those only the test suite needs. Idempotent: only packages that are missing are
# installed.
set -euo pipefail

PKGS=(
  # build
  pkg-config cmake build-essential libasound2-dev libopus-dev libspeexdsp-dev libvpx-dev libdbus-1-dev
  # screen sharing on Wayland: PipeWire (its Rust bindings are generated with libclang)
  libpipewire-0.3-dev libclang-dev
  # OS keyring (tests run a private Secret Service)
  dbus-daemon dbus-bin gnome-keyring
  # desktop notifications (tests run a private dunst on Xvfb)
  dunst
  # colour emoji in chats and reactions (the window uses it when present)
  fonts-noto-color-emoji
  # tests: real servers and a sound system without hardware
  prosody coturn pulseaudio pulseaudio-utils libasound2-plugins
  # window tests
  xvfb xauth libgl1-mesa-dri libgl1 libegl1 libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2 libx11-xcb1 imagemagick mesa-vulkan-drivers
)

if [ "${1:-}" = "--tests" ]; then
  PKGS+=(
    # interop tests: a third-party Jingle peer (StanzaJS) in Chromium, in a private netns
    chromium iproute2
    # calls through network outages: nftables drops UDP in the test's own netns
    nftables
    # the second server of the end-to-end tests (tests/support/ejabberd.rs)
    ejabberd
    # SASL2, Bind 2 and FAST for Prosody (tests/support/sasl2.rs patches them for 0.12)
    prosody-modules
    # speech-quality test: spoken sentences, and building PyPI's `pesq` in a venv
    espeak-ng python3-venv python3-dev
    # camera test: the distribution's kernel with its virtual camera (vivid) under QEMU
    qemu-system-x86 busybox-static cpio
    # Wayland screen sharing: a real PipeWire and session manager, and GStreamer
    # putting the Xvfb screen on a node as a compositor would (tests/support/portal.rs)
    pipewire pipewire-bin wireplumber gstreamer1.0-tools gstreamer1.0-pipewire
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    # packaging test: the metadata's validators, and a clean system for the .deb
    appstream desktop-file-utils debootstrap dpkg-dev
  )
  if apt-cache show linux-image-amd64 >/dev/null 2>&1; then
    PKGS+=(linux-image-amd64)
  else
    PKGS+=(linux-image-generic) # Ubuntu: vivid is in linux-modules-extra, a dependency
  fi
fi

# Node.js for the interop harness: the machine's own if it has one, else Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a server package's service when it installs it; Banter's tests and
# "Try it locally" start their own instances. Only the services this run just
# installed are stopped and disabled: a Prosody, coturn or ejabberd the user already
# had (and may run as their own server) is left alone.
for svc in prosody coturn ejabberd; do
  case " ${missing[*]} " in
    *" $svc "*) ;;
    *) continue ;;
  esac
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  if [ -x "/etc/init.d/$svc" ]; then $SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
done
