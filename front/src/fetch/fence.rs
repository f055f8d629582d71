//! What the front fetches from elsewhere (trusted issuers' keys, client metadata documents,
//! sign-in providers' metadata and the upstream token exchange) goes through one fence and
//! bounded reads.
//!
//! The fence: connections go only to public unicast addresses ([`is_public`], every range of
//! the IANA IPv4 and IPv6 special-purpose registries refused, and the addresses embedded in
//! IPv4-mapped and NAT64 addresses judged as IPv4), checked on what a name resolves to (the
//! resolver drops the rest, and reqwest connects only to what it returns, so DNS rebinding
//! does not get through), on IP literals in URLs, and on every redirect target. No proxy is
//! ever used: a proxy would resolve the name itself and the check would be skipped.
//! `--allow-private-fetch` (development, tests) lifts the address rule only.
//!
//! The GET: the status checked, the body capped while it streams in, the JSON parsed. Every
//! failure comes back with its cause (`failure`), which names the flag that would change it.

use crate::fetch::failure::{Cause, Failure, NoPublicAddress, Unresolved};
use oauth_core::protocol::issuer_policy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Whether an IPv4 address is a public unicast address: not in any block of the IANA IPv4
/// Special-Purpose Address Registry that is not globally reachable, nor multicast.
fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // 0.0.0.0/8 "this network"
        || a == 10 // 10.0.0.0/8 private
        || (a == 100 && (64..128).contains(&b)) // 100.64.0.0/10 shared address space (CGN)
        || a == 127 // 127.0.0.0/8 loopback
        || (a == 169 && b == 254) // 169.254.0.0/16 link-local (cloud metadata)
        || (a == 172 && (16..32).contains(&b)) // 172.16.0.0/12 private
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24 IETF protocol assignments (DS-Lite, NAT64 discovery…)
        || (a == 192 && b == 0 && c == 2) // 192.0.2.0/24 TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 192.88.99.0/24 6to4 relay anycast (deprecated)
        || (a == 192 && b == 168) // 192.168.0.0/16 private
        || (a == 198 && (b == 18 || b == 19)) // 198.18.0.0/15 benchmarking
        || (a == 198 && b == 51 && c == 100) // 198.51.100.0/24 TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // 203.0.113.0/24 TEST-NET-3
        || (224..240).contains(&a) // 224.0.0.0/4 multicast
        || a >= 240; // 240.0.0.0/4 reserved, and 255.255.255.255 broadcast
    !special
}

/// Whether an IPv6 address is a public unicast address: inside 2000::/3 (the only space
/// allocated for global unicast, which leaves out ::/128, ::1, the deprecated IPv4-compatible
/// ::/96, 100::/64 discard, 100:0:0:1::/64 dummy, 5f00::/16 SRv6, fc00::/7 unique local,
/// fe80::/10 link-local, fec0::/10 site-local, ff00::/8 multicast), and not one of its
/// special-purpose blocks. Addresses that stand for an IPv4 one are judged by it.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 =
        || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    // ::ffff:0:0/96 IPv4-mapped: a dual-stack socket connects to the IPv4 address.
    if s[..6] == [0, 0, 0, 0, 0, 0xffff] {
        return is_public_v4(embedded_v4());
    }
    // 64:ff9b::/96 well-known NAT64 prefix (RFC 6052): the translator connects to the IPv4
    // address in the last 32 bits.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4());
    }
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    let special = match (s[0], s[1]) {
        // 2001::/23 IETF protocol assignments (Teredo, ORCHID, benchmarking…)
        (0x2001, 0..0x0200) => true,
        // 2001:db8::/32 documentation
        (0x2001, 0x0db8) => true,
        // 2002::/16 6to4 (deprecated; tunnels to an embedded IPv4 address)
        (0x2002, _) => true,
        // 3fff::/20 documentation (RFC 9637)
        (0x3fff, 0..0x1000) => true,
        _ => false,
    };
    !special
}

/// Addresses a fetch on behalf of a request must never reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// The address in a URL's host, when it is an IP literal (which bypasses the resolver).
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    }
}

/// Whether the fence lets a connection to `url`'s host be attempted: names are checked by the
/// resolver; IP literals here.
pub fn host_allowed(url: &Url, allow_private: bool) -> bool {
    allow_private || literal_ip(url).is_none_or(is_public)
}

/// The rule for URLs an administrator configured (issuer keys, sign-in providers): https
/// only; plain http only on loopback, and only where private fetches are allowed (local
/// stand-ins, tests); the address fence applies to every URL. `None` when `url` may be
/// fetched, else why not: the scheme first (plain http on loopback is what
/// `--allow-private-fetch` allows, and the cause says so), then the address.
pub fn refusal(url: &Url, allow_private: bool) -> Option<Cause> {
    let scheme_ok = url.scheme() == "https"
        || (url.scheme() == "http" && allow_private && issuer_policy::is_loopback(url));
    if !scheme_ok {
        let loopback_http = url.scheme() == "http" && issuer_policy::is_loopback(url);
        return Some(if loopback_http {
            Cause::LoopbackHttp
        } else {
            Cause::HttpsRequired
        });
    }
    (!host_allowed(url, allow_private)).then_some(Cause::PrivateAddress)
}

/// A resolver that drops non-public addresses (unless allowed): reqwest connects only to what
/// it returns, so a name cannot be rebound to an internal address between check and connect.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await
                .map_err(|e| Box::new(Unresolved(e)) as Box<dyn std::error::Error + Send + Sync>)?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(NoPublicAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A client builder with the fence: the public-only resolver, no proxy, the extra roots.
/// The caller adds the redirect policy (which must check targets with `host_allowed`).
pub fn fenced_client(
    extra_roots: &[reqwest::Certificate],
    allow_private: bool,
) -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(PublicOnly { allow_private }))
        .user_agent(concat!("oauth-front/", env!("CARGO_PKG_VERSION")));
    for root in extra_roots {
        builder = builder.add_root_certificate(root.clone());
    }
    builder
}

/// A fenced client for administrator-configured URLs that follows up to 3 redirects, each
/// target checked with [`refusal`].
pub fn following_client(
    extra_roots: &[reqwest::Certificate],
    allow_private: bool,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    fenced_client(extra_roots, allow_private)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 3 {
                attempt.error("more than 3 redirects")
            } else if let Some(cause) = refusal(attempt.url(), allow_private) {
                attempt.error(format!(
                    "redirected to a URL that is not fetched from: {cause}"
                ))
            } else {
                attempt.follow()
            }
        }))
        .build()
}

/// Appends `chunk` unless the body would exceed `max` bytes.
fn push_capped(body: &mut Vec<u8>, chunk: &[u8], max: usize) -> Result<(), Cause> {
    if body.len() + chunk.len() > max {
        return Err(Cause::TooLarge(max));
    }
    body.extend_from_slice(chunk);
    Ok(())
}

/// The body, read while it streams in and refused past `max` bytes (a declared length too
/// large is refused before reading); `timeout` is the client's, for the message.
pub async fn read_capped(
    mut res: reqwest::Response,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>, Cause> {
    if res.content_length().is_some_and(|n| n > max as u64) {
        return Err(Cause::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| Cause::of_request(e, timeout))?
    {
        push_capped(&mut body, &chunk, max)?;
    }
    Ok(body)
}

/// GET of JSON: a 2xx answer of at most `max` bytes that parses.
pub async fn get_json(
    http: &reqwest::Client,
    url: Url,
    max: usize,
    timeout: Duration,
) -> Result<Value, Cause> {
    let res = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| Cause::of_request(e, timeout))?;
    if !res.status().is_success() {
        return Err(Cause::Status(res.status().as_u16()));
    }
    let body = read_capped(res, max, timeout).await?;
    serde_json::from_slice(&body).map_err(|e| Cause::NotJson(e.to_string()))
}

/// GET of a URL an administrator configured, or one a document they configured names:
/// refused when [`refusal`] says so. The failure names the URL.
pub async fn get_configured_json(
    http: &reqwest::Client,
    url: &str,
    allow_private: bool,
    max: usize,
    timeout: Duration,
) -> Result<Value, Failure> {
    let parsed = Url::parse(url).map_err(|e| Failure::new(url, Cause::Unusable(format!("{e}"))))?;
    if let Some(refused) = refusal(&parsed, allow_private) {
        return Err(Failure::new(url, refused));
    }
    get_json(http, parsed, max, timeout)
        .await
        .map_err(|cause| Failure::new(url, cause))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetchable(url: &Url, allow_private: bool) -> bool {
        refusal(url, allow_private).is_none()
    }

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    /// One address inside (and, where it matters, at both edges of) every IANA special-purpose
    /// block; each of these a metadata document or issuer URL could point at.
    #[test]
    fn every_special_purpose_ipv4_block_is_refused() {
        for (block, inside) in [
            ("0.0.0.0/8", &["0.0.0.0", "0.255.255.255"][..]),
            ("10.0.0.0/8", &["10.0.0.0", "10.255.255.255"]),
            ("100.64.0.0/10", &["100.64.0.0", "100.127.255.255"]),
            ("127.0.0.0/8", &["127.0.0.1", "127.255.255.254"]),
            ("169.254.0.0/16", &["169.254.169.254"]),
            ("172.16.0.0/12", &["172.16.0.1", "172.31.255.255"]),
            (
                "192.0.0.0/24",
                &["192.0.0.1", "192.0.0.8", "192.0.0.170", "192.0.0.255"],
            ),
            ("192.0.2.0/24", &["192.0.2.1"]),
            ("192.88.99.0/24", &["192.88.99.1"]),
            ("192.168.0.0/16", &["192.168.0.1", "192.168.255.255"]),
            ("198.18.0.0/15", &["198.18.0.1", "198.19.255.255"]),
            ("198.51.100.0/24", &["198.51.100.7"]),
            ("203.0.113.0/24", &["203.0.113.9"]),
            ("224.0.0.0/4", &["224.0.0.1", "239.255.255.255"]),
            ("240.0.0.0/4", &["240.0.0.1", "254.1.2.3"]),
            ("255.255.255.255/32", &["255.255.255.255"]),
        ] {
            for ip in inside {
                assert!(!public(ip), "{ip} is in {block}");
            }
        }
        // Just outside the blocks.
        for ip in [
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "203.0.112.255",
            "223.255.255.255",
            "93.184.216.34",
        ] {
            assert!(public(ip), "{ip}");
        }
    }

    #[test]
    fn every_special_purpose_ipv6_block_is_refused() {
        for (block, inside) in [
            ("::/128", &["::"][..]),
            ("::1/128", &["::1"]),
            ("::/96 IPv4-compatible", &["::127.0.0.1", "::8.8.8.8"]),
            ("::ffff:0:0:0/96 IPv4-translated", &["::ffff:0:8.8.8.8"]),
            ("100::/64 discard", &["100::1"]),
            ("100:0:0:1::/64 dummy", &["100:0:0:1::1"]),
            ("64:ff9b:1::/48 local NAT64", &["64:ff9b:1::8.8.8.8"]),
            (
                "2001::/23",
                &[
                    "2001::1",
                    "2001:0:4136:e378::1",
                    "2001:2::1",
                    "2001:10::1",
                    "2001:1ff::1",
                ],
            ),
            ("2001:db8::/32", &["2001:db8::1"]),
            ("2002::/16 6to4", &["2002:c000:204::1", "2002:0808:0808::1"]),
            ("3fff::/20", &["3fff::1", "3fff:fff:ffff::1"]),
            ("5f00::/16 SRv6", &["5f00::1"]),
            ("fc00::/7", &["fc00::1", "fd12:3456::1"]),
            ("fe80::/10", &["fe80::1", "febf::1"]),
            ("fec0::/10", &["fec0::1"]),
            ("ff00::/8", &["ff02::1"]),
        ] {
            for ip in inside {
                assert!(!public(ip), "{ip} is in {block}");
            }
        }
        for ip in [
            "2606:4700::1111",
            "2001:200::1",
            "2a00:1450::1",
            "3ffe::1",
            "2003::1",
        ] {
            assert!(public(ip), "{ip}");
        }
    }

    #[test]
    fn ipv4_mapped_and_nat64_addresses_are_judged_by_the_ipv4_they_carry() {
        for private in [
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe", // 169.254.169.254
            "64:ff9b::192.168.0.1",
            "64:ff9b::198.18.0.1",
        ] {
            assert!(!public(private), "{private}");
        }
        for ok in ["::ffff:1.1.1.1", "64:ff9b::1.1.1.1", "64:ff9b::5db8:d822"] {
            assert!(public(ok), "{ok}");
        }
    }

    #[test]
    fn bodies_are_cut_off_past_the_cap() {
        let mut body = Vec::new();
        assert!(push_capped(&mut body, b"abcd", 6).is_ok());
        assert!(push_capped(&mut body, b"ef", 6).is_ok());
        assert_eq!(body, b"abcdef");
        assert!(push_capped(&mut body, b"g", 6).is_err());
        assert_eq!(body.len(), 6, "nothing past the cap is kept");
    }

    #[test]
    fn configured_urls_come_over_https_or_loopback_only() {
        for ok in [
            "https://keys.example/jwks",
            "http://127.0.0.1:9/jwks",
            "http://[::1]/j",
            "http://localhost/j",
        ] {
            assert!(fetchable(&Url::parse(ok).unwrap(), true), "{ok}");
        }
        for bad in [
            "http://keys.example/jwks",
            "file:///etc/passwd",
            "ftp://x/y",
        ] {
            assert!(!fetchable(&Url::parse(bad).unwrap(), true), "{bad}");
        }
    }

    #[test]
    fn configured_url_fetches_never_reach_private_addresses() {
        for bad in [
            "http://127.0.0.1:9/jwks",
            "http://localhost/j",
            "https://127.0.0.1/jwks",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/jwks",
            "https://[::ffff:10.0.0.1]/jwks",
            "https://10.1.2.3/jwks",
        ] {
            assert!(!fetchable(&Url::parse(bad).unwrap(), false), "{bad}");
        }
        assert!(fetchable(
            &Url::parse("https://keys.example/jwks").unwrap(),
            false
        ));
    }

    #[test]
    fn ip_literals_in_urls_are_fenced() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(!host_allowed(&u("https://127.0.0.1/x"), false));
        assert!(!host_allowed(&u("https://[::ffff:7f00:1]/x"), false));
        assert!(!host_allowed(&u("https://[64:ff9b::a9fe:a9fe]/x"), false));
        assert!(host_allowed(&u("https://127.0.0.1/x"), true));
        assert!(host_allowed(&u("https://1.1.1.1/x"), false));
        // Names are left to the resolver.
        assert!(host_allowed(&u("https://localhost/x"), false));
    }
}
