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

/// Another network namespace (`ip netns`), joined to this thread's by a veth pair:
/// `here` (e.g. `10.99.0.1/24`) on our end `va`, `there` on its end `vb`, which is its
/// only interface besides loopback. Deleted when dropped.
pub struct OtherNamespace {
    pub name: String,
}

impl OtherNamespace {
    pub fn new(here: &str, there: &str) -> OtherNamespace {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("banter-{}-{n}", std::process::id());
        ip(&format!("netns add {name}"));
        let ns = OtherNamespace { name };
        ip(&format!(
            "link add va type veth peer name vb netns {}",
            ns.name
        ));
        ip(&format!("addr add {here} dev va"));
        ip("link set va up");
        ns.ip("link set lo up");
        ns.ip("link set vb up");
        // Deleting the first address of a subnet would take the others with it.
        ns.sysctl("net.ipv4.conf.vb.promote_secondaries=1");
        ns.ip(&format!("addr add {there} dev vb"));
        ns
    }

    /// `ip ARGS` in that namespace.
    pub fn ip(&self, args: &str) {
        ip(&format!("-n {} {args}", self.name));
    }

    fn sysctl(&self, setting: &str) {
        let ok = Command::new("ip")
            .args(["netns", "exec", &self.name, "sysctl", "-qw", setting])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "sysctl {setting} in {}", self.name);
    }

    /// `cmd` run in that namespace.
    pub fn run(&self, cmd: &Command) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(cmd.get_program());
        c.args(cmd.get_args());
        c
    }
}

impl Drop for OtherNamespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn ip(args: &str) {
    let out = Command::new("ip")
        .args(args.split(' '))
        .output()
        .expect("ip (package iproute2)");
    assert!(
        out.status.success(),
        "ip {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        kill_connections(port);
        TcpCut { port }
    }
}

/// Ends every TCP connection to or from `port` (`ss -K`; root): both ends of a
/// loopback connection see it closed, and a client reconnects at once.
pub fn kill_connections(port: u16) {
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
}

impl Drop for TcpCut {
    fn drop(&mut self) {
        nft("delete table inet cut");
        eprintln!("port {} open again", self.port);
    }
}
