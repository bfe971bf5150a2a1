//! Who sent a request: the socket's peer, or, when the peer is a trusted
//! reverse proxy (`ADPIPE_TRUSTED_PROXIES`), the address the proxies name in
//! `Forwarded` (RFC 7239) or `X-Forwarded-For`. The rate limit keys on it;
//! behind an Ingress without it, every submitter would share the proxy's
//! bucket.
//!
//! The chain is read from the right: each trusted proxy appended the
//! address it received from, so the rightmost address that is not a
//! trusted proxy is the client. What lies to its left was written by the
//! client itself and proves nothing. From a peer that is not trusted, the
//! headers are ignored: anyone can send them.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::AppState;

/// The networks whose requests may name their client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses (`192.0.2.7`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "trusted proxy {entry:?} is neither an address nor a CIDR \
                             (e.g. 10.0.0.0/8)"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|network| network.contains(&address))
    }
}

/// The client's address of a request, put there by [`identify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client of a request that came from `peer` with these headers.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.trusts(peer) {
        return peer;
    }
    let hops = forwarded_for(headers).or_else(|| x_forwarded_for(headers));
    let mut client = peer;
    for hop in hops.unwrap_or_default().into_iter().rev() {
        // An address the chain cannot name (`unknown`, an obfuscated
        // node): nothing to its left can be trusted either.
        let Some(hop) = hop else {
            return client;
        };
        client = hop;
        if !trusted.trusts(hop) {
            return hop;
        }
    }
    client
}

/// Every `for=` of every `Forwarded` header, in order; `None` when there
/// is no such header (then `X-Forwarded-For` is read).
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    let mut seen = false;
    for value in headers.get_all("forwarded") {
        seen = true;
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then_some(value)
            });
            // An element without `for=` says nothing about the client.
            if let Some(node) = node {
                hops.push(node_address(node));
            }
        }
    }
    seen.then_some(hops)
}

/// Every address of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let values: Vec<_> = headers.get_all("x-forwarded-for").iter().collect();
    if values.is_empty() {
        return None;
    }
    Some(
        values
            .into_iter()
            .flat_map(|value| match value.to_str() {
                Ok(text) => text.split(',').map(node_address).collect(),
                Err(_) => vec![None],
            })
            .collect(),
    )
}

/// A node as proxies write it: `192.0.2.7`, `192.0.2.7:4711`,
/// `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn node_address(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    node.parse::<IpAddr>()
        .or_else(|_| node.parse::<SocketAddr>().map(|socket| socket.ip()))
        .or_else(|_| {
            node.strip_prefix('[')
                .and_then(|rest| rest.split_once(']'))
                .map(|(address, _)| address)
                .unwrap_or(node)
                .parse::<IpAddr>()
        })
        .ok()
        .map(|address| address.to_canonical())
}

/// Puts the request's [`ClientAddr`] among its extensions, for the rate
/// limit and the logs. A request that came through no socket (a test's
/// `oneshot`) has none.
pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    if let Some(peer) = peer {
        let client = client_address(peer, request.headers(), &state.config.trusted_proxies);
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(list).expect("proxies")
    }

    #[test]
    fn headers_from_a_peer_nobody_trusts_are_ignored() {
        let spoofed = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.10"),
        ]);
        assert_eq!(
            client_address(ip("198.51.100.4"), &spoofed, &TrustedProxies::default()),
            ip("198.51.100.4")
        );
        assert_eq!(
            client_address(ip("198.51.100.4"), &spoofed, &proxies(&["10.0.0.0/8"])),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn the_rightmost_address_no_proxy_is_trusted_for_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.1"]);
        // The client wrote the first entry itself; the Ingress appended the
        // address it saw, then an inner proxy its own peer.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.1.2.3")]);
        assert_eq!(
            client_address(ip("192.0.2.1"), &chain, &trusted),
            ip("203.0.113.9")
        );
        // Two headers count as one list, in order.
        let split = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            client_address(ip("10.0.0.5"), &split, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn forwarded_is_read_before_x_forwarded_for_with_ports_and_ipv6() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let both = headers(&[
            (
                "forwarded",
                r#"for="[2001:db8:cafe::17]:4711";proto=https, For=10.0.0.9"#,
            ),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &both, &trusted),
            ip("2001:db8:cafe::17")
        );
        let with_port = headers(&[("forwarded", "for=198.51.100.17:47011;by=10.0.0.1")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &with_port, &trusted),
            ip("198.51.100.17")
        );
    }

    #[test]
    fn an_address_the_chain_cannot_name_stops_the_walk() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let hidden = headers(&[("x-forwarded-for", "203.0.113.9, unknown, 10.0.0.3")]);
        // `unknown` came from 10.0.0.3's peer: that proxy is as far as the
        // chain can be trusted.
        assert_eq!(
            client_address(ip("10.0.0.1"), &hidden, &trusted),
            ip("10.0.0.3")
        );
        // Only trusted proxies and no header: the peer itself.
        assert_eq!(
            client_address(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        let all_trusted = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.3")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &all_trusted, &trusted),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_networks() {
        let trusted = proxies(&["127.0.0.1"]);
        let chain = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), &chain, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_malformed_entry_is_refused_with_its_text() {
        let error = TrustedProxies::parse(&["10.0.0.0/8", "ten"]).expect_err("refused");
        assert!(error.contains("\"ten\""), "{error}");
        assert!(TrustedProxies::parse(&["fd00::/8", " 192.0.2.7 "]).is_ok());
    }
}
