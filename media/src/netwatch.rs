//! Changes of this machine's addresses and routes: a laptop moving from Wi-Fi to
//! Ethernet, a VPN coming up. On Linux the kernel says so at once (rtnetlink
//! multicast groups for addresses, routes and links); elsewhere the addresses are
//! looked at every two seconds. What changed is not read from the messages: the
//! caller compares the addresses it cares about (`session::host_addresses`).

use std::time::Duration;

/// Messages arrive in bursts (an address removed, its routes, the new one): one change
/// is reported once this long has passed without another.
const QUIET: Duration = Duration::from_millis(300);

/// Every address this machine has now (loopback and IPv6 included).
pub fn local_addresses() -> Vec<std::net::IpAddr> {
    if_addrs::get_if_addrs()
        .unwrap_or_default()
        .iter()
        .map(|i| i.ip())
        .collect()
}

/// The default routes (IPv4) as `interface gateway`: a new one means the traffic
/// leaves another way (another network behind the same address, a VPN), after which
/// calls restart ICE. Empty where /proc/net/route does not exist.
pub fn default_routes() -> Vec<String> {
    defaults_in(&std::fs::read_to_string("/proc/net/route").unwrap_or_default())
}

fn defaults_in(table: &str) -> Vec<String> {
    let mut routes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
            let (iface, dest, gw, mask) = (f.first()?, f.get(1)?, f.get(2)?, f.get(7)?);
            (*dest == "00000000" && *mask == "00000000").then(|| format!("{iface} {gw}"))
        })
        .collect();
    routes.sort();
    routes.dedup();
    routes
}

/// Reports that something about the machine's addresses or routes changed.
pub struct AddressWatch {
    #[cfg(target_os = "linux")]
    fd: tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
    #[cfg(not(target_os = "linux"))]
    tick: tokio::time::Interval,
}

#[cfg(target_os = "linux")]
impl AddressWatch {
    /// Subscribes to the kernel's address, route and link changes.
    pub fn new() -> std::io::Result<AddressWatch> {
        use std::os::fd::{FromRawFd, OwnedFd};
        // SAFETY: socket(2) with constant arguments; the result is checked and owned.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor no one else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_nl is plain data; all-zero is its documented initial state.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = (libc::RTMGRP_LINK
            | libc::RTMGRP_IPV4_IFADDR
            | libc::RTMGRP_IPV6_IFADDR
            | libc::RTMGRP_IPV4_ROUTE
            | libc::RTMGRP_IPV6_ROUTE) as u32;
        // SAFETY: `addr` is a valid sockaddr_nl of the size given; `fd` is open.
        let rc = unsafe {
            libc::bind(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the OwnedFd moves into the AsyncFd and stays open, the same
        // descriptor, for as long as the AsyncFd lives.
        let fd = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
        }
        .map_err(|e| e.into_parts().1)?;
        Ok(AddressWatch { fd })
    }

    /// Waits for the next change, then for the burst it starts to end.
    pub async fn changed(&mut self) {
        self.next_message().await;
        while tokio::time::timeout(QUIET, self.next_message())
            .await
            .is_ok()
        {}
    }

    /// Waits until the kernel sent something, and reads all of it.
    async fn next_message(&self) {
        let mut buf = [0u8; 8192];
        loop {
            let Ok(mut ready) = self.fd.readable().await else {
                // The descriptor broke: nothing will come again.
                return std::future::pending().await;
            };
            let mut got = false;
            loop {
                let fd = std::os::fd::AsRawFd::as_raw_fd(self.fd.get_ref());
                // SAFETY: reads into a buffer of the length given from an open socket.
                let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n > 0 {
                    got = true;
                    continue;
                }
                let err = std::io::Error::last_os_error();
                if n < 0 && err.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // ENOBUFS: the kernel dropped messages for us; still a change.
                if n < 0 && err.raw_os_error() == Some(libc::ENOBUFS) {
                    got = true;
                    continue;
                }
                break;
            }
            ready.clear_ready();
            if got {
                return;
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl AddressWatch {
    pub fn new() -> std::io::Result<AddressWatch> {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(AddressWatch { tick })
    }

    /// Every two seconds: the caller compares the addresses.
    pub async fn changed(&mut self) {
        self.tick.tick().await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn default_routes_are_read_from_the_table() {
        let table =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
            wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
            wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0\n\
            eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
        assert_eq!(defaults_in(table), ["eth0 0100000A", "wlan0 0101A8C0"]);
        assert!(defaults_in("").is_empty());
        assert!(defaults_in("Iface\nbroken").is_empty());
    }

    /// A watch made and polled without a change does not report one (nothing is
    /// invented); what a real change does is tested in tests/network_e2e.rs, where a
    /// namespace of the test's own may change its addresses.
    #[tokio::test]
    async fn no_change_no_report() {
        let mut w = AddressWatch::new().unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(200), w.changed())
                .await
                .is_err()
        );
    }
}
