//! Proxies from the environment, read as curl reads them, and said out loud.
//!
//! For an `http://` URL: `http_proxy`, then `HTTP_PROXY`; for `https://`:
//! `https_proxy`, then `HTTPS_PROXY`; then, for either, `all_proxy` and
//! `ALL_PROXY`. An empty variable counts as unset. `no_proxy` (or
//! `NO_PROXY`) lists hosts reached directly: comma-separated names that
//! match the host and its subdomains (`example.com`, `.example.com`), IP
//! addresses, CIDR ranges (`10.0.0.0/8`), or `*` for every host. A proxy
//! URL without a scheme is `http://`; `https://` proxies are reached over
//! TLS; SOCKS proxies are refused, never silently skipped.
//!
//! The choice is made once, for the URL a tool was given (redirects travel
//! the same way), and the tool shows it: `"proxy": "http://proxy:3128"`
//! (a password masked) in its report, "via proxy …" in every error.

use std::net::IpAddr;

use golive_core::redact;

/// The proxy a request goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The URL as given (may carry `user:password@`; never printed).
    url: String,
    /// The URL as it may be shown (password masked).
    shown: String,
    /// The environment variable it came from.
    var: &'static str,
}

impl Proxy {
    /// The proxy the environment names for `url`, or `None`: no variable
    /// set, the host listed in `no_proxy`, or `disabled` (`--no-proxy`).
    ///
    /// `Err` says which variable holds what cannot be used (a SOCKS proxy,
    /// not a URL), for a usage error (exit 64).
    pub fn for_url(url: &str, disabled: bool) -> Result<Option<Proxy>, String> {
        if disabled {
            return Ok(None);
        }
        Self::for_url_in(url, |k| std::env::var(k).ok())
    }

    /// [`Proxy::for_url`] with the environment read through `env`.
    pub fn for_url_in(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, String> {
        let Ok(uri) = url.parse::<ureq::http::Uri>() else {
            return Ok(None);
        };
        let vars: [&'static str; 4] = match uri.scheme_str().map(str::to_ascii_lowercase) {
            Some(s) if s == "https" => ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"],
            Some(s) if s == "http" => ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"],
            _ => return Ok(None),
        };
        let set = |k: &str| {
            env(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let Some((var, value)) = vars.iter().find_map(|k| set(k).map(|v| (*k, v))) else {
            return Ok(None);
        };
        let host = uri.host().unwrap_or_default();
        if let Some(list) = set("no_proxy").or_else(|| set("NO_PROXY"))
            && bypasses(&list, host)
        {
            return Ok(None);
        }
        Proxy::parse(var, &value).map(Some)
    }

    /// A proxy URL from variable `var`.
    fn parse(var: &'static str, value: &str) -> Result<Proxy, String> {
        let url = if value.contains("://") {
            value.to_string()
        } else {
            format!("http://{value}")
        };
        let shown = redact::url(&url);
        let scheme = url
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        match scheme.as_str() {
            "http" | "https" => {}
            s if s.starts_with("socks") => {
                return Err(format!(
                    "{var}={shown}: SOCKS proxies are not supported; use an http:// proxy, or --no-proxy"
                ));
            }
            s => {
                return Err(format!(
                    "{var}={shown}: proxy scheme '{s}' is not supported (http:// or https://), or use --no-proxy"
                ));
            }
        }
        if ureq::Proxy::new(&url).is_err() {
            return Err(format!(
                "{var}={shown} is not a proxy URL, or use --no-proxy"
            ));
        }
        Ok(Proxy { url, shown, var })
    }

    /// The proxy URL as it may be shown (`http://user:***@proxy:3128`).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The environment variable that named it.
    pub fn var(&self) -> &'static str {
        self.var
    }

    /// The same proxy, as ureq takes it (no `no_proxy` of ureq's own: that
    /// was decided here, curl's way).
    pub(crate) fn to_ureq(&self) -> Option<ureq::Proxy> {
        ureq::Proxy::new(&self.url).ok()
    }
}

/// Whether `host` is reached directly by the `no_proxy` list.
pub fn bypasses(list: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let ip: Option<IpAddr> = host.parse().ok();
    list.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let (Some(ip), Some((net, bits))) = (ip, entry.split_once('/')) {
                return in_cidr(ip, net, bits);
            }
            let e = entry
                .trim_start_matches('*')
                .trim_start_matches('.')
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if e.is_empty() {
                return false;
            }
            match (ip, e.parse::<IpAddr>()) {
                (Some(a), Ok(b)) => a == b,
                (_, Ok(_)) | (Some(_), _) => false,
                (None, Err(_)) => host == e || host.ends_with(&format!(".{e}")),
            }
        })
}

fn in_cidr(ip: IpAddr, net: &str, bits: &str) -> bool {
    let (Ok(net), Ok(bits)) = (
        net.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>(),
        bits.parse::<u32>(),
    ) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    fn shown(url: &str, vars: &[(&str, &str)]) -> Option<String> {
        Proxy::for_url_in(url, with(vars))
            .unwrap()
            .map(|p| format!("{} from {}", p.shown(), p.var()))
    }

    #[test]
    fn the_variable_follows_the_scheme_lower_case_first() {
        let env = [
            ("http_proxy", "http://lower:3128"),
            ("HTTP_PROXY", "http://upper:3128"),
            ("HTTPS_PROXY", "http://tls:3128"),
            ("ALL_PROXY", "http://all:3128"),
        ];
        assert_eq!(
            shown("http://api/health", &env).unwrap(),
            "http://lower:3128 from http_proxy"
        );
        assert_eq!(
            shown("https://api/health", &env).unwrap(),
            "http://tls:3128 from HTTPS_PROXY"
        );
        assert_eq!(
            shown("https://api/", &[("ALL_PROXY", "proxy:8080")]).unwrap(),
            "http://proxy:8080 from ALL_PROXY"
        );
        assert_eq!(
            shown("http://api/", &[("HTTPS_PROXY", "http://tls:1")]),
            None
        );
        assert_eq!(shown("http://api/", &[("http_proxy", " ")]), None);
    }

    #[test]
    fn no_proxy_reads_as_curl_does() {
        for (list, host, direct) in [
            ("example.com", "example.com", true),
            ("example.com", "api.example.com", true),
            (".example.com", "api.example.com", true),
            ("*.example.com", "api.example.com", true),
            ("example.com", "badexample.com", false),
            ("localhost, 127.0.0.1", "127.0.0.1", true),
            ("10.0.0.0/8", "10.1.2.3", true),
            ("10.0.0.0/8", "11.1.2.3", false),
            ("::1", "[::1]", true),
            ("fd00::/8", "fd12::1", true),
            ("*", "anything", true),
            ("", "anything", false),
            ("127.0.0.1", "127.0.0.10", false),
        ] {
            assert_eq!(bypasses(list, host), direct, "{list:?} / {host}");
        }
        let env = [
            ("http_proxy", "http://p:3128"),
            ("NO_PROXY", "internal,.svc"),
        ];
        assert_eq!(shown("http://db.internal:80/", &env), None);
        assert_eq!(shown("http://x.svc/", &env), None);
        assert!(shown("http://example.org/", &env).is_some());
    }

    #[test]
    fn credentials_are_masked_and_socks_is_refused() {
        assert_eq!(
            shown(
                "http://api/",
                &[("http_proxy", "http://user:proxy-pw-771@p:3128")]
            )
            .unwrap(),
            "http://user:***@p:3128 from http_proxy"
        );
        assert_eq!(redact::scrub("proxy-pw-771"), "***");
        let e = Proxy::for_url_in("https://api/", with(&[("ALL_PROXY", "socks5://s:1080")]))
            .unwrap_err();
        assert!(e.contains("ALL_PROXY") && e.contains("SOCKS"), "{e}");
        assert!(Proxy::for_url_in("http://api/", with(&[("http_proxy", "ftp://x")])).is_err());
    }

    #[test]
    fn disabled_means_direct() {
        assert_eq!(Proxy::for_url("http://api/", true).unwrap(), None);
    }
}
