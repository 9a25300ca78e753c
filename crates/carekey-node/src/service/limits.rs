//! What a client without credentials may cost the node: the per-client request budget, the
//! erasure-entry budget (per source and a global daily cap), and who the client is when a
//! reverse proxy forwards its address.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher as _;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;

use axum::http::HeaderMap;

/// Sets of the limiter's table, and clients per set: 65,536 clients tracked at most.
const SETS: usize = 16_384;
const WAYS: usize = 4;

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    ip: Option<IpAddr>,
    tokens: f64,
    last: u64,
}

/// A token bucket per client IP, refilled by the node clock (whole seconds).
///
/// The buckets live in a fixed table (4-way set-associative, keyed by a hash with a per-run
/// random seed), so its memory is fixed and no request scans it: a client's set is found by
/// its hash and holds four buckets under its own lock. A new client takes the least recently
/// seen bucket of its set; the client it displaces starts again with a full bucket, so a flood
/// of distinct addresses can make the limiter more lenient to some clients, never lock anyone
/// out (and cannot target a given client: the hash seed is secret).
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    sets: Box<[Mutex<[Slot; WAYS]>]>,
    hasher: RandomState,
}

impl RateLimiter {
    /// `per_sec` tokens a second, at most `burst` saved up.
    pub fn new(per_sec: u32, burst: u32) -> Self {
        Self::with_rate(f64::from(per_sec), burst)
    }

    /// `per_sec` (possibly a fraction) tokens a second, at most `burst` saved up.
    pub fn with_rate(per_sec: f64, burst: u32) -> Self {
        Self {
            per_sec: per_sec.max(0.0),
            burst: f64::from(burst.max(1)),
            sets: (0..SETS)
                .map(|_| Mutex::new([Slot::default(); WAYS]))
                .collect(),
            hasher: RandomState::new(),
        }
    }

    /// Takes one token for `ip` at time `now`; `false` when the bucket is empty.
    pub fn allow(&self, ip: IpAddr, now: u64) -> bool {
        let set = (self.hasher.hash_one(ip) as usize) % SETS;
        let mut slots = match self.sets[set].lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        let way = match slots.iter().position(|s| s.ip == Some(ip)) {
            Some(way) => way,
            None => {
                let way = slots
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, s)| (s.ip.is_some(), s.last))
                    .map_or(0, |(w, _)| w);
                slots[way] = Slot {
                    ip: Some(ip),
                    tokens: self.burst,
                    last: now,
                };
                way
            }
        };
        let slot = &mut slots[way];
        let elapsed = now.saturating_sub(slot.last) as f64;
        slot.tokens = (slot.tokens + elapsed * self.per_sec).min(self.burst);
        slot.last = now.max(slot.last);
        if slot.tokens >= 1.0 {
            slot.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// The most clients tracked at once.
    pub const fn capacity() -> usize {
        SETS * WAYS
    }
}

/// The budget for erasure entries (`POST /v1/entries` with an ErasureEntry). Anyone can sign
/// an erasure entry with a throwaway key and every wallet downloads it forever, so they are
/// limited per source (`429 erasure_rate_limited`) and by a global daily cap (`507
/// erasure_cap_reached`). Both answers are retried by a wallet's outbox; an erasure is never
/// silently dropped. An entry already in the log is never counted (a retry costs nothing).
#[derive(Debug, Clone, Copy)]
pub struct ErasureLimits {
    /// Erasure entries one source (client address) may send at once.
    pub per_source_burst: u32,
    /// Erasure entries one source may send per hour, sustained.
    pub per_source_per_hour: u32,
    /// Erasure entries the node accepts per UTC day (node clock) from everyone.
    pub global_per_day: u64,
}

impl Default for ErasureLimits {
    fn default() -> Self {
        Self {
            per_source_burst: 1_000,
            per_source_per_hour: 3_600,
            global_per_day: 20_000,
        }
    }
}

/// Why an erasure entry is not taken now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErasureRefusal {
    /// This source's budget is spent.
    Source,
    /// Today's global cap is reached.
    Global,
}

/// Keeps [`ErasureLimits`].
#[derive(Debug)]
pub(crate) struct ErasureLimiter {
    limits: ErasureLimits,
    per_source: RateLimiter,
    /// (day number, erasure entries taken that day).
    today: Mutex<(u64, u64)>,
}

impl ErasureLimiter {
    pub(crate) fn new(limits: ErasureLimits) -> Self {
        Self {
            limits,
            per_source: RateLimiter::with_rate(
                f64::from(limits.per_source_per_hour) / 3600.0,
                limits.per_source_burst,
            ),
            today: Mutex::new((0, 0)),
        }
    }

    /// Takes one erasure entry from `source` at `now`.
    pub(crate) fn take(&self, source: IpAddr, now: u64) -> Result<(), ErasureRefusal> {
        let day = now / 86_400;
        let mut today = match self.today.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        if today.0 != day {
            *today = (day, 0);
        }
        if today.1 >= self.limits.global_per_day {
            return Err(ErasureRefusal::Global);
        }
        if !self.per_source.allow(source, now) {
            return Err(ErasureRefusal::Source);
        }
        today.1 += 1;
        Ok(())
    }
}

/// An address or network (`10.0.0.0/8`, `::1`) a reverse proxy of this node connects from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

/// A `trusted_proxies` item that is not an address or `address/prefix`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IP address or network: {0:?}")]
pub struct ProxyNetError(String);

impl FromStr for ProxyNet {
    type Err = ProxyNetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ProxyNetError(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Self {
            addr: canonical(addr),
            prefix,
        })
    }
}

impl ProxyNet {
    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses as IPv4 (a dual-stack listener reports them so).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client a request is from: the TCP peer, unless the peer is a trusted proxy; then the
/// address the proxies forwarded (`X-Forwarded-For`, else `Forwarded: for=`), read from the
/// right (the nearest proxy appends last) skipping trusted proxies, so that a client cannot
/// choose its address by sending the header itself. A header that cannot be read counts as
/// the proxy's own address.
pub(crate) fn client_addr(peer: IpAddr, headers: &HeaderMap, proxies: &[ProxyNet]) -> IpAddr {
    let peer = canonical(peer);
    let trusted = |ip: IpAddr| proxies.iter().any(|p| p.contains(ip));
    if !trusted(peer) {
        return peer;
    }
    let mut hops: Vec<&str> = Vec::new();
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !xff.is_empty() {
        for v in xff {
            hops.extend(v.split(',').map(str::trim));
        }
    } else {
        for v in headers
            .get_all("forwarded")
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            for element in v.split(',') {
                let node = element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
                });
                // An element without `for=` still is a hop.
                hops.push(node.unwrap_or(""));
            }
        }
    }
    for hop in hops.iter().rev() {
        match parse_node(hop) {
            Some(ip) if trusted(ip) => continue,
            Some(ip) => return ip,
            None => return peer,
        }
    }
    peer
}

/// An address as forwarding headers write it: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`,
/// `"[2001:db8::1]:443"`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let t = text.trim().trim_matches('"');
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = t.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse::<IpAddr>().ok().map(canonical);
    }
    let (host, port) = t.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net: ProxyNet = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.1".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        let one: ProxyNet = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("::2".parse().unwrap()));
        let all: ProxyNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        for bad in ["10.0.0.0/33", "proxy", "10.0.0.0/x", ""] {
            assert!(bad.parse::<ProxyNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_addresses_are_read_from_the_right_past_trusted_proxies() {
        let proxies: Vec<ProxyNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let outsider: IpAddr = "192.0.2.1".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.4, 10.0.0.9")]);
        assert_eq!(
            client_addr(peer, &h, &proxies),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_addr(outsider, &h, &proxies), outsider);
        let h = headers(&[(
            "forwarded",
            "for=192.0.2.60;proto=http, for=\"[2001:db8::7]:4711\"",
        )]);
        assert_eq!(
            client_addr(peer, &h, &proxies),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
        let h = headers(&[("forwarded", "for=\"198.51.100.5:8080\"")]);
        assert_eq!(
            client_addr(peer, &h, &proxies),
            "198.51.100.5".parse::<IpAddr>().unwrap()
        );
        for garbage in ["unknown", "_hidden", ""] {
            let h = headers(&[("x-forwarded-for", garbage)]);
            assert_eq!(client_addr(peer, &h, &proxies), peer, "{garbage:?}");
        }
        assert_eq!(client_addr(peer, &HeaderMap::new(), &proxies), peer);
    }

    #[test]
    fn the_erasure_budget_has_a_source_limit_and_a_daily_cap() {
        let l = ErasureLimiter::new(ErasureLimits {
            per_source_burst: 2,
            per_source_per_hour: 3600,
            global_per_day: 3,
        });
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let day = 86_400 * 20_000;
        assert_eq!(l.take(a, day), Ok(()));
        assert_eq!(l.take(a, day), Ok(()));
        assert_eq!(l.take(a, day), Err(ErasureRefusal::Source));
        assert_eq!(l.take(b, day), Ok(()));
        assert_eq!(l.take(b, day), Err(ErasureRefusal::Global));
        assert_eq!(l.take(a, day + 86_400), Ok(()));
    }
}
