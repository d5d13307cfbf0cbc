//! Private network namespaces for tests, and nftables impairments inside them.
#![allow(dead_code)]

use std::process::Command;

/// Moves this thread (and what it starts from now on) into a new network namespace
/// with only a loopback interface. Returns false without CAP_SYS_ADMIN (not root):
/// the thread stays in the host's namespace.
pub fn isolate_network() -> bool {
    // SAFETY: unshare(2) with CLONE_NEWNET only changes this thread's namespace.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if rc != 0 {
        eprintln!(
            "note: no network namespace ({})",
            std::io::Error::last_os_error()
        );
        return false;
    }
    let ok = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip link set lo up (package iproute2) failed");
    true
}

/// Every UDP packet dropped (nftables, input hook: both directions on `lo`) in this
/// thread's namespace until dropped; TCP (XMPP) goes on. Must only be made in a
/// namespace of the test's own (`isolate_network`).
pub struct UdpBlackout;

impl UdpBlackout {
    pub fn start() -> UdpBlackout {
        nft("add table inet blackout");
        nft("add chain inet blackout input { type filter hook input priority 0 ; }");
        nft("add rule inet blackout input meta l4proto udp drop");
        UdpBlackout
    }
}

impl Drop for UdpBlackout {
    fn drop(&mut self) {
        nft("delete table inet blackout");
    }
}

fn nft(rule: &str) {
    let out = Command::new("nft")
        .args(rule.split(' '))
        .output()
        .expect("nft (package nftables)");
    assert!(
        out.status.success(),
        "nft {rule}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
