//! Where outgoing requests (webhooks) may go. A destination is refused when any address its
//! name resolves to is private, loopback, link-local, a cloud metadata address or otherwise not
//! a public unicast address, unless the settings' allow-list names the host or the address
//! (`outgoing.allow_hosts`; tests and local development allow-list 127.0.0.1). The check runs
//! after DNS resolution, on the addresses the request will use.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address may not be reached, or None for a public unicast address.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible addresses are judged as IPv4.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            forbidden_v6(v6)
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if ip.is_unspecified() || a == 0 => "an unspecified (0.0.0.0/8) address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "a cloud metadata address",
        _ if ip.is_link_local() => "a link-local address",
        _ if ip.is_private() => "a private address",
        _ if a == 100 && (64..128).contains(&b) => "a shared (carrier-grade NAT) address",
        _ if a == 192 && b == 0 && c == 0 => "an IETF protocol address",
        _ if ip.is_documentation() => "a documentation address",
        _ if a == 198 && (b == 18 || b == 19) => "a benchmarking address",
        _ if ip.is_multicast() => "a multicast address",
        _ if ip.is_broadcast() || a >= 240 => "a reserved address",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(match () {
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => "a cloud metadata address",
        _ if (s[0] & 0xfe00) == 0xfc00 => "a private (unique local) address",
        _ if (s[0] & 0xffc0) == 0xfe80 => "a link-local address",
        _ if (s[0] & 0xffc0) == 0xfec0 => "a site-local address",
        _ if ip.is_multicast() => "a multicast address",
        _ if s[0] == 0x2001 && s[1] == 0x0db8 => "a documentation address",
        // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address: judge that one.
        _ if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] => {
            let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            return forbidden_v4(v4);
        }
        _ if s[0] == 0x2002 => {
            let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
            return forbidden_v4(v4);
        }
        _ if ip.to_ipv4().is_some() && s[0..6] == [0, 0, 0, 0, 0, 0] => {
            // IPv4-compatible (::a.b.c.d), deprecated.
            return forbidden_v4(ip.to_ipv4().expect("checked"));
        }
        _ => return None,
    })
}

/// Whether a request to `host` (as written in the URL), resolved to `addresses`, may go out.
/// The allow-list holds host names or addresses, compared without case.
pub fn check(host: &str, addresses: &[IpAddr], allow: &[String]) -> Result<(), String> {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if allow.iter().any(|a| a.eq_ignore_ascii_case(&host)) {
        return Ok(());
    }
    if addresses.is_empty() {
        return Err(format!("{host} does not resolve to any address"));
    }
    for ip in addresses {
        if allow.iter().any(|a| a.parse::<IpAddr>().ok() == Some(*ip)) {
            continue;
        }
        if let Some(why) = forbidden(*ip) {
            return Err(format!(
                "{host} resolves to {ip}, {why}; add it to outgoing.allow_hosts to allow it"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused() {
        for (addr, why) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "metadata"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "carrier-grade"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved"),
            ("192.0.2.1", "documentation"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00:ec2::254", "metadata"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.169.254", "metadata"),
            ("64:ff9b::a9fe:a9fe", "metadata"),
            ("2002:c0a8:0101::1", "private"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
        ] {
            let reason = forbidden(ip(addr)).unwrap_or_else(|| panic!("{addr} was allowed"));
            assert!(reason.contains(why), "{addr}: {reason}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:93.184.216.34",
        ] {
            assert_eq!(forbidden(ip(addr)), None, "{addr}");
        }
    }

    #[test]
    fn the_allow_list_names_hosts_or_addresses_and_every_address_counts() {
        let allow = vec!["127.0.0.1".to_string(), "receiver.test".to_string()];
        assert!(check("127.0.0.1", &[ip("127.0.0.1")], &allow).is_ok());
        assert!(check("receiver.test", &[ip("10.0.0.5")], &allow).is_ok());
        // A name that resolves to loopback is refused unless it, or the address, is listed.
        let err = check("sneaky.example", &[ip("127.0.0.1")], &[]).unwrap_err();
        assert!(
            err.contains("loopback") && err.contains("outgoing.allow_hosts"),
            "{err}"
        );
        assert!(check("sneaky.example", &[ip("127.0.0.1")], &allow).is_ok());
        // One bad address among good ones is enough to refuse.
        assert!(check("mixed.example", &[ip("8.8.8.8"), ip("10.0.0.1")], &[]).is_err());
        assert!(check("[::1]", &[ip("::1")], &[]).is_err());
        assert!(check("nowhere.example", &[], &[]).is_err());
    }
}
