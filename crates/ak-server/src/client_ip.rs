//! The client's address: the socket peer, or `X-Forwarded-For` when the peer is a trusted proxy.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The address to rate-limit and to check against permitted IPs.
///
/// Only when `peer` is in `trusted` is `X-Forwarded-For` read: its entries are walked from the
/// right (the one the nearest proxy added) past every trusted proxy, and the first untrusted
/// address is the client. A missing or unparsable header leaves the peer as the client.
pub(crate) fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return canonical(peer);
    }
    let mut client = canonical(peer);
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return canonical(peer);
        };
        for entry in text.split(',').rev() {
            let Ok(ip) = entry.trim().parse::<IpAddr>() else {
                return client;
            };
            client = canonical(ip);
            if !is_trusted(&client) {
                return client;
            }
        }
    }
    client
}

/// IPv4-mapped IPv6 addresses as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.1.1.1".parse().unwrap();
        let stranger: IpAddr = "203.0.113.5".parse().unwrap();
        let forwarded = headers(&["198.51.100.7"]);
        assert_eq!(client_ip(stranger, &forwarded, &trusted), stranger);
        assert_eq!(client_ip(stranger, &forwarded, &[]), stranger);
        assert_eq!(
            client_ip(peer, &forwarded, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // A spoofed left-most entry is ignored: the right-most untrusted one wins.
        let chain = headers(&["6.6.6.6, 198.51.100.7, 10.2.2.2"]);
        assert_eq!(
            client_ip(peer, &chain, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer);
        assert_eq!(client_ip(peer, &headers(&["garbage"]), &trusted), peer);
        let mapped: IpAddr = "::ffff:10.1.1.1".parse().unwrap();
        assert_eq!(
            client_ip(mapped, &forwarded, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }
}
