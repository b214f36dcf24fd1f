//! The target: a plain-HTTP URL, resolved once, and the loopback rule.

use std::net::{SocketAddr, ToSocketAddrs};

use hyper::Uri;

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// The absolute URI (HTTP/2 requests carry it).
    pub uri: Uri,
    /// `host[:port]`, the Host header of HTTP/1.1 requests.
    pub authority: String,
    /// Path and query, the request line of HTTP/1.1 requests.
    pub path_and_query: String,
    /// The resolved addresses; connections use the first.
    pub addrs: Vec<SocketAddr>,
}

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target {url:?}: {reason}")]
pub struct TargetError {
    /// The URL as given.
    pub url: String,
    /// What is wrong and what to do.
    pub reason: String,
}

impl Target {
    /// Parses and resolves `url`. Targets other than loopback need `allow_remote`: a load test
    /// pointed at the wrong host is an outage.
    pub fn parse(url: &str, allow_remote: bool) -> Result<Target, TargetError> {
        let err = |reason: String| TargetError {
            url: url.to_string(),
            reason,
        };
        let uri: Uri = url
            .parse()
            .map_err(|e| err(format!("not a URL ({e}); expected http://host:port/path")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(err(
                    "https is not supported: load-test the service's plain-HTTP port (inside \
                     the cluster, or through kubectl port-forward)"
                        .into(),
                ));
            }
            _ => return Err(err("expected http://host:port/path".into())),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| err("no host; expected http://host:port/path".into()))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| err(format!("cannot resolve {host}: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(err(format!("{host} resolves to no address")));
        }
        if !allow_remote && !addrs.iter().all(|a| a.ip().is_loopback()) {
            return Err(err(format!(
                "{host} is not a loopback address; pass --allow-remote to load-test another \
                 host (make sure it is a staging service that expects the load)"
            )));
        }
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Target {
            url: url.to_string(),
            authority: authority.as_str().to_string(),
            uri,
            path_and_query,
            addrs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets_pass_and_others_need_leave() {
        let t = Target::parse("http://127.0.0.1:8080/v1/recommend?x=1", false).expect("loopback");
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.path_and_query, "/v1/recommend?x=1");
        assert_eq!(t.addrs[0].port(), 8080);
        assert_eq!(
            Target::parse("http://[::1]:9/", false).expect("v6").addrs[0].port(),
            9
        );
        assert_eq!(
            Target::parse("http://localhost", false)
                .expect("localhost")
                .path_and_query,
            "/"
        );
        let remote = Target::parse("http://192.0.2.1:80/", false).expect_err("remote");
        assert!(remote.reason.contains("--allow-remote"), "{remote}");
        assert!(Target::parse("http://192.0.2.1:80/", true).is_ok());
        assert!(
            Target::parse("https://127.0.0.1/", false)
                .expect_err("tls")
                .reason
                .contains("https")
        );
        assert!(Target::parse("127.0.0.1:80", false).is_err());
        assert!(Target::parse("not a url", false).is_err());
    }
}
