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
        UdpBlackout::of("meta l4proto udp drop")
    }

    /// Only the UDP packets to these ports (one side's sockets: it loses its path,
    /// the other still hears it).
    pub fn towards(ports: &[u16]) -> UdpBlackout {
        assert!(!ports.is_empty(), "no port to black out");
        let set: Vec<String> = ports.iter().map(u16::to_string).collect();
        UdpBlackout::of(&format!("udp dport {{ {} }} drop", set.join(", ")))
    }

    fn of(rule: &str) -> UdpBlackout {
        nft("add table inet blackout");
        nft("add chain inet blackout input { type filter hook input priority 0 ; }");
        nft(&format!("add rule inet blackout input {rule}"));
        UdpBlackout
    }
}

impl Drop for UdpBlackout {
    fn drop(&mut self) {
        nft("delete table inet blackout");
    }
}

/// The UDP ports process `pid` has sockets on (`ss`).
pub fn udp_ports_of(pid: u32) -> Vec<u16> {
    let out = Command::new("ss")
        .args(["-H", "-uanp"])
        .output()
        .expect("ss (package iproute2)");
    let text = String::from_utf8_lossy(&out.stdout);
    let owner = format!("pid={pid},");
    let mut ports: Vec<u16> = text
        .lines()
        .filter(|l| l.contains(&owner))
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter_map(|local| local.rsplit(':').next()?.parse().ok())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// A NAT on the way out of this thread's namespace (nftables SNAT of UDP), until
/// dropped: as the servers see it.
pub struct Nat;

impl Nat {
    /// UDP towards `port` leaves from another source port than towards anything else:
    /// what a symmetric NAT does.
    pub fn symmetric(port: u16) -> Nat {
        Nat::of(&format!("udp dport {port} snat to 127.0.0.1:61000-61999"))
    }

    /// UDP towards any of `ports` leaves from port 62000, whatever the destination:
    /// a NAT that keeps its mapping (endpoint-independent).
    pub fn cone(ports: &[u16]) -> Nat {
        let set: Vec<String> = ports.iter().map(u16::to_string).collect();
        Nat::of(&format!(
            "udp dport {{ {} }} snat to 127.0.0.1:62000",
            set.join(", ")
        ))
    }

    fn of(rule: &str) -> Nat {
        nft("add table ip nat");
        nft("add chain ip nat post { type nat hook postrouting priority 100 ; }");
        nft(&format!("add rule ip nat post {rule}"));
        Nat
    }
}

impl Drop for Nat {
    fn drop(&mut self) {
        nft("delete table ip nat");
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

/// The XMPP server's port cut off (every TCP segment to or from it dropped) and the
/// connections to it destroyed (`ss -K`), in this thread's namespace, until dropped.
pub struct TcpCut {
    port: u16,
}

impl TcpCut {
    pub fn start(port: u16) -> TcpCut {
        nft("add table inet cut");
        nft("add chain inet cut input { type filter hook input priority 0 ; }");
        nft(&format!("add rule inet cut input tcp dport {port} drop"));
        nft(&format!("add rule inet cut input tcp sport {port} drop"));
        let out = Command::new("ss")
            .args([
                "-K",
                "-tn",
                &format!("( dport = :{port} or sport = :{port} )"),
            ])
            .output()
            .expect("ss (package iproute2)");
        assert!(
            out.status.success(),
            "ss -K: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TcpCut { port }
    }
}

impl Drop for TcpCut {
    fn drop(&mut self) {
        nft("delete table inet cut");
        eprintln!("port {} open again", self.port);
    }
}
