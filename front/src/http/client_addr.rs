//! The client's address behind the reverse proxies you run (`--trusted-proxy-hops`): what
//! every per-address limit counts.

use axum::http::{header, HeaderMap};
use std::net::{IpAddr, SocketAddr};

/// The client's address behind `hops` proxies you run. Each proxy appends the address of
/// whoever connected to it to `X-Forwarded-For` (one header or several, read as one list), so
/// the entry the outermost of them appended is the `hops`-th from the right; everything left
/// of it came from the client and is ignored. With fewer entries than hops (a request that
/// skipped an outer proxy), the leftmost is taken: it was still appended by one of yours.
/// An entry that is not an address (`unknown`, garbage) leaves the socket's peer.
pub fn forwarded_client(headers: &HeaderMap, peer: IpAddr, hops: usize) -> IpAddr {
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all(header::HeaderName::from_static("x-forwarded-for"))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let Some(entry) = entries
        .len()
        .checked_sub(hops)
        .map(|i| entries[i])
        .or(entries.first().copied())
    else {
        return peer;
    };
    parse_forwarded_addr(entry).unwrap_or(peer)
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_forwarded_addr(entry: &str) -> Option<IpAddr> {
    entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const PEER: &str = "10.0.0.2";

    fn client(values: &[&str], hops: usize) -> String {
        forwarded_client(&xff(values), PEER.parse().unwrap(), hops).to_string()
    }

    #[test]
    fn without_trusted_proxies_x_forwarded_for_is_ignored() {
        assert_eq!(client(&["203.0.113.9"], 0), PEER);
    }

    #[test]
    fn a_client_cannot_choose_its_address_by_prepending_x_forwarded_for_entries() {
        // One proxy (TLS terminator): it appended the client's real address last.
        assert_eq!(client(&["1.2.3.4, 203.0.113.9"], 1), "203.0.113.9");
        // Two (a CDN, then a load balancer): the rightmost is the CDN edge, the client is
        // the entry before it, whatever the client put further left.
        assert_eq!(
            client(&["1.2.3.4, 198.51.100.7, 192.0.2.200"], 2),
            "198.51.100.7"
        );
        // Several header lines are one list, in order.
        assert_eq!(
            client(&["1.2.3.4", "198.51.100.7", "192.0.2.200"], 2),
            "198.51.100.7"
        );
        // Fewer entries than hops: the leftmost, appended by one of the proxies.
        assert_eq!(client(&["198.51.100.7"], 2), "198.51.100.7");
        // Ports and brackets as some proxies write them.
        assert_eq!(client(&["198.51.100.7:4711"], 1), "198.51.100.7");
        assert_eq!(client(&["[2001:db8::1]:4711"], 1), "2001:db8::1");
        assert_eq!(client(&["[2001:db8::1]"], 1), "2001:db8::1");
        // Garbage or nothing: the socket's peer.
        assert_eq!(client(&["unknown"], 1), PEER);
        assert_eq!(client(&[], 1), PEER);
    }
}
