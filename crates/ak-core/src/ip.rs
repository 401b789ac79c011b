//! Permitted IP addresses and CIDR ranges, and the check of a client address against them.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::validate::ValidationError;

/// Parses one `permittedIps` entry: an IPv4/IPv6 address (a single-host range) or a CIDR range.
///
/// Host bits in a CIDR (`10.0.0.1/8`) are accepted and ignored, as most firewalls do.
pub fn parse_rule(entry: &str) -> Result<IpNet, ValidationError> {
    let invalid = || ValidationError::InvalidIp {
        value: entry.to_owned(),
    };
    if entry.contains('/') {
        entry.parse::<IpNet>().map_err(|_| invalid())
    } else {
        entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| invalid())
    }
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
