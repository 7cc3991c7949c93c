//! The outbound-call guard. Every URL Parley calls — webhooks, flow HTTP widgets and
//! functions, carriers — passes here, and every address it connects to is checked at
//! connection time (so a DNS answer that changes between the check and the call, or a
//! redirect, cannot slip through):
//! - only http and https;
//! - never link-local or cloud-metadata addresses (169.254.0.0/16, fe80::/10,
//!   fd00:ec2::254), unspecified, multicast or broadcast addresses;
//! - private networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) only when the
//!   operator allows them;
//! - loopback allowed by default, so developers can point flows at their own services
//!   (`--deny-loopback` turns that off for a shared deployment).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::app::App;

/// What outbound calls may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundPolicy {
    pub allow_loopback: bool,
    pub allow_private: bool,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy {
            allow_loopback: true,
            allow_private: false,
        }
    }
}

/// Why an address is refused, or None if it may be called.
pub fn refusal(ip: IpAddr, policy: OutboundPolicy) -> Option<&'static str> {
    // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is judged as IPv4.
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() {
                Some("an unspecified, broadcast or multicast address")
            } else if v4.is_link_local() {
                Some("a link-local or cloud metadata address")
            } else if v4.is_loopback() {
                (!policy.allow_loopback).then_some("a loopback address")
            } else if v4.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) || o[0] == 0 {
                (!policy.allow_private).then_some("a private network address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if v6.is_unspecified() || v6.is_multicast() {
                Some("an unspecified or multicast address")
            } else if (seg[0] & 0xffc0) == 0xfe80
                || v6 == std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
            {
                Some("a link-local or cloud metadata address")
            } else if v6.is_loopback() {
                (!policy.allow_loopback).then_some("a loopback address")
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                (!policy.allow_private).then_some("a private network address")
            } else {
                None
            }
        }
    }
}

/// Checks a URL before calling it: scheme, host, and the address when the host is one.
pub fn check_url_with(url: &str, policy: OutboundPolicy) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("'{url}' is not a valid URL: {e}"))?;
    match parsed.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "scheme '{other}' is not allowed: only http and https"
            ));
        }
    }
    let host = match parsed.host() {
        None => return Err(format!("'{url}' has no host")),
        Some(h) => h,
    };
    let ip = match host {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(d) => {
            if d.eq_ignore_ascii_case("metadata.google.internal")
                || d.eq_ignore_ascii_case("metadata")
            {
                return Err(format!(
                    "{d} is a cloud metadata host; Parley does not call it"
                ));
            }
            None
        }
    };
    if let Some(ip) = ip
        && let Some(why) = refusal(ip, policy)
    {
        return Err(format!(
            "{ip} is {why}; Parley does not call it (see SECURITY.md)"
        ));
    }
    Ok(())
}

pub async fn check_url(app: &App, url: &str) -> Result<(), String> {
    check_url_with(url, app.config().outbound)
}

/// Resolves host names for the HTTP client and drops refused addresses, so the check
/// happens on the address actually connected to.
pub struct GuardedResolver {
    pub policy: OutboundPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| refusal(a.ip(), policy).is_none())
                .collect();
            if allowed.is_empty() {
                let why = addrs
                    .first()
                    .and_then(|a| refusal(a.ip(), policy))
                    .unwrap_or("unresolvable");
                return Err(format!(
                    "{host} resolves to {why}; Parley does not call it (see SECURITY.md)"
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Redirects are followed (up to 5) only to URLs that pass the same check.
pub fn redirect_policy(policy: OutboundPolicy) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 5 {
            return attempt.error("too many redirects");
        }
        match check_url_with(attempt.url().as_str(), policy) {
            Ok(()) => attempt.follow(),
            Err(why) => attempt.error(format!("redirect refused: {why}")),
        }
    })
}

pub fn resolver(policy: OutboundPolicy) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { policy })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> OutboundPolicy {
        OutboundPolicy::default()
    }

    #[test]
    fn refuses_metadata_link_local_and_private_by_default() {
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://10.0.0.1/",
            "http://192.168.1.10:8080/x",
            "http://172.16.0.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::ffff:169.254.169.254]/",
            "http://[fd00:ec2::254]/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "ftp://example.com/",
            "file:///etc/passwd",
        ] {
            assert!(check_url_with(url, p()).is_err(), "{url} should be refused");
        }
    }

    #[test]
    fn allows_public_and_loopback_by_default() {
        for url in [
            "https://example.com/hook",
            "http://127.0.0.1:8080/x",
            "http://[::1]/",
            "http://8.8.8.8/",
        ] {
            assert!(check_url_with(url, p()).is_ok(), "{url} should be allowed");
        }
        let strict = OutboundPolicy {
            allow_loopback: false,
            allow_private: false,
        };
        assert!(check_url_with("http://127.0.0.1/", strict).is_err());
        let open = OutboundPolicy {
            allow_loopback: true,
            allow_private: true,
        };
        assert!(check_url_with("http://10.1.2.3/", open).is_ok());
        assert!(
            check_url_with("http://169.254.169.254/", open).is_err(),
            "metadata is never allowed"
        );
    }
}

/// A URL fit for logs: any `user:password@` is removed (webhook URLs may carry credentials).
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable URL)".to_string(),
    }
}

#[cfg(test)]
mod redact_tests {
    #[test]
    fn credentials_never_reach_logs() {
        assert_eq!(
            super::redact("https://bob:s3cret@example.com/hook?x=1"),
            "https://example.com/hook?x=1"
        );
        assert_eq!(
            super::redact("http://example.com/a"),
            "http://example.com/a"
        );
    }
}
