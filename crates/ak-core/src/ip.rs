//! Permitted IP addresses and CIDR ranges, and the check of a client address against them.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::validate::ValidationError;

/// Parses one `permittedIps` entry: an IPv4/IPv6 address (a single-host range) or a CIDR range.
///
/// Host bits in a CIDR (`10.0.0.1/8`) are accepted and ignored, as most firewalls do.
///
/// The address is parsed by `std` in both forms, so an IPv4 octet with a leading zero
/// (`010.0.0.0/8`, which some tools read as octal) is refused in a range exactly as in a bare
/// address (`ipnet`'s own CIDR parser accepts it); the prefix length is 1 to 3 ASCII digits.
pub fn parse_rule(entry: &str) -> Result<IpNet, ValidationError> {
    let invalid = || ValidationError::InvalidIp {
        value: entry.to_owned(),
    };
    let Some((address, prefix)) = entry.split_once('/') else {
        return entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| invalid());
    };
    let address = address.parse::<IpAddr>().map_err(|_| invalid())?;
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(invalid());
    }
    let prefix = prefix.parse::<u8>().map_err(|_| invalid())?;
    IpNet::new(address, prefix).map_err(|_| invalid())
}

/// Whether `client` may use a key whose `permittedIps` are `entries`.
///
/// An empty list permits every address. A non-empty list with no client address denies (fail
/// closed). IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are matched as the IPv4 address they
/// carry. An entry that no longer parses never matches.
pub fn is_permitted(entries: &[String], client: Option<IpAddr>) -> bool {
    if entries.is_empty() {
        return true;
    }
    let Some(client) = client else {
        return false;
    };
    let client = client.to_canonical();
    entries
        .iter()
        .filter_map(|entry| parse_rule(entry).ok())
        .any(|rule| rule.contains(&client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_their_address_as_strictly_as_bare_addresses() {
        assert_eq!(parse_rule("10.0.0.1/8").unwrap().to_string(), "10.0.0.1/8");
        assert_eq!(parse_rule("2001:db8::/32").unwrap().prefix_len(), 32);
        assert_eq!(parse_rule("192.0.2.7").unwrap().prefix_len(), 32);
        // Found by the ip_rule fuzz target: ipnet accepted leading-zero octets in a range.
        for bad in [
            "01.2.3.4",
            "01.2.3.4/8",
            "010.0.0.0/8",
            "1.2.3.4/+8",
            "1.2.3.4/",
            "1.2.3.4/33",
            "1.2.3.4/0008",
            "::/129",
            "1.2.3.4/8/8",
        ] {
            assert!(parse_rule(bad).is_err(), "{bad}");
        }
        assert!(
            parse_rule("1.2.3.4/08").is_ok(),
            "a leading zero in the length is unambiguous"
        );
    }
}
