#!/bin/bash
# Boots Debian's own kernel under QEMU with the kernel's virtual camera driver (vivid)
# and runs one command in it, so Banter's V4L2 capture meets a real V4L2 driver on a
# machine without a camera. The guest sees this machine's root filesystem read-only
# over 9p (the same binaries and libraries), and OUT read-write (with HOME and TMPDIR
# inside it).
#
#   tests/vm/boot.sh OUT COMMAND...
#
# COMMAND runs as root in the guest; its stdout, stderr and exit code land in
# OUT/stdout, OUT/stderr and OUT/rc, the kernel's console in OUT/console.log.
# Needs the packages qemu-system-x86, linux-image-amd64, busybox-static and cpio.
set -euo pipefail
out=$(realpath "$1"); shift
[ $# -gt 0 ] || { echo "usage: $0 OUT COMMAND..." >&2; exit 2; }

# The newest installed kernel that has the vivid module.
ver=""
for v in $(ls /lib/modules | sort -V); do
  if [ -f "/boot/vmlinuz-$v" ] && [ -f "/lib/modules/$v/modules.dep" ] &&
     ls /lib/modules/$v/kernel/drivers/media/test-drivers/vivid/vivid.ko* >/dev/null 2>&1; then
    ver=$v
  fi
done
[ -n "$ver" ] || { echo "no kernel with the vivid module in /boot and /lib/modules (apt install linux-image-amd64)" >&2; exit 3; }
mods=/lib/modules/$ver

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,proc,sys,dev,newroot,lib/modules}
cp /bin/busybox "$root/bin/busybox"
! readelf -l "$root/bin/busybox" | grep -q "program interpreter" ||
  { echo "/bin/busybox is not static (apt install busybox-static)" >&2; exit 3; }

# Each wanted module after the modules it needs (modules.dep lists those deepest last).
declare -A seen=()
order=()
add() {
  local m=$1 deps
  [ -n "${seen[$m]:-}" ] && return
  seen[$m]=1
  deps=$(grep -E "^(kernel/)?[^:]*/$m\.ko(\.[a-z]+)?:" "$mods/modules.dep" | head -1) ||
    { echo "module $m not in $mods/modules.dep" >&2; exit 3; }
  local path=${deps%%:*} rest=${deps#*:} d
  for d in $(echo $rest | tr ' ' '\n' | tac); do add "$(basename "${d%%.ko*}")"; done
  order+=("$path")
}
for m in virtio_pci 9pnet_virtio 9p vivid; do add "$m"; done
: > "$root/modules"
for p in "${order[@]}"; do
  f=$root/lib/modules/$(basename "$p")
  case "$p" in
    *.xz) xz -dc "$mods/$p" > "${f%.xz}"; f=${f%.xz} ;;
    *.zst) zstd -qdc "$mods/$p" > "${f%.zst}"; f=${f%.zst} ;;
    *) cp "$mods/$p" "$f" ;;
  esac
  echo "/lib/modules/$(basename "$f")" >> "$root/modules"
done

printf '%s\n' "$@" > "$out/.argv"
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
out=$(sed -n 's/.*banter_out=\([^ ]*\).*/\1/p' /proc/cmdline)
for m in $(cat /modules); do
  case $m in
    */vivid.ko) insmod $m n_devs=1 node_types=0x1 num_inputs=1 input_types=0x0 ;;
    *) insmod $m ;;
  esac
done
ip link set lo up
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,ro hostroot /newroot
for d in proc sys dev; do mount --bind /$d /newroot/$d; done
# OUT exists in the read-only root (it is a host directory); the writable share goes
# over it. /tmp stays the host's (read-only): the binary may live there.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 out /newroot$out
mkdir -p /newroot$out/home /newroot$out/tmp
echo "guest: kernel $(uname -r), $(ls /dev/video* 2>/dev/null | tr '\n' ' ')"
chroot /newroot /usr/bin/env -i HOME=$out/home TMPDIR=$out/tmp PATH=/usr/local/bin:/usr/bin:/bin \
  RUST_LOG="$(cat /newroot$out/.rust_log 2>/dev/null)" \
  /usr/bin/xargs -d '\n' -a $out/.argv /bin/sh -c '"$@" >'"$out"'/stdout 2>'"$out"'/stderr; echo $? >'"$out"'/rc' sh
sync
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"

rm -f "$out/rc" "$out/stdout" "$out/stderr"
accel="-accel tcg,thread=multi"
# KVM where there is one (BANTER_VM_ACCEL=tcg forces emulation, as on CI machines).
[ "${BANTER_VM_ACCEL:-}" != tcg ] && [ -w /dev/kvm ] && grep -qE 'vmx|svm' /proc/cpuinfo && accel="-accel kvm"
timeout "${BANTER_VM_TIMEOUT:-600}" qemu-system-x86_64 $accel -m 2048 -smp 2 \
  -nodefaults -no-user-config -display none -no-reboot \
  -serial "file:$out/console.log" \
  -kernel "/boot/vmlinuz-$ver" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 panic=-1 quiet banter_out=$out" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$out,mount_tag=out,security_model=none"
[ -f "$out/rc" ] || { echo "the guest did not finish; its console:" >&2; tail -30 "$out/console.log" >&2; exit 4; }
exit "$(cat "$out/rc")"
