//! How the client reaches the cloud: a [`Transport`] sends one POST and returns the answer.
//! [`HttpTransport`] is the real one (blocking reqwest); tests wrap it to inject faults.

use std::time::Duration;

/// One request to the cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `/v1/enroll`, `/v1/push` or `/v1/pull`.
    pub path: &'static str,
    /// Sent as `Authorization: Bearer …`.
    pub credential: Option<String>,
    pub body: Vec<u8>,
    /// The body is gzip-compressed (`Content-Encoding: gzip`).
    pub gzip: bool,
}

/// The cloud's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The request did not get an answer (connection refused, timeout, lost answer…). Whether the
/// server processed it is unknown: resending is always safe (exactly-once is per event).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transport error: {0}")]
pub struct TransportError(pub String);

pub trait Transport: Send + Sync {
    fn send(&self, req: &Request) -> Result<Response, TransportError>;
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn send(&self, req: &Request) -> Result<Response, TransportError> {
        (**self).send(req)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&self, req: &Request) -> Result<Response, TransportError> {
        (**self).send(req)
    }
}

/// How [`HttpTransport`] reaches HQ.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Whole-request timeout (connecting is capped at 10 s).
    pub timeout: Duration,
    /// Extra certificate authorities to trust (PEM, one or more certificates), beside the
    /// public web roots: for an HQ with its own CA or a self-signed certificate.
    pub ca_pem: Option<Vec<u8>>,
    /// Allow plain `http://` to a host that is not this machine (a trusted network only:
    /// the credential and every sale would cross it unencrypted).
    pub allow_http: bool,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            timeout: Duration::from_secs(30),
            ca_pem: None,
            allow_http: false,
        }
    }
}

/// Whether HQ's base URL may be used: `https://` always, `http://` only to this machine
/// (`localhost`, `127.0.0.0/8`, `::1`) unless `allow_http`.
pub fn check_url(base_url: &str, allow_http: bool) -> Result<(), TransportError> {
    let url = reqwest::Url::parse(base_url).map_err(|e| {
        TransportError(format!(
            "HQ address {base_url:?} is not a URL ({e}): use https://HOST[:PORT]"
        ))
    })?;
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http || is_loopback(host) => Ok(()),
        "http" => Err(TransportError(format!(
            "refusing plain http:// to HQ at {host}: the terminal's credential and its sales \
            would cross the network unencrypted. Use https://{host}… (add --ca-cert FILE if \
            HQ's certificate comes from its own CA), or pass --allow-http if this network is \
            trusted"
        ))),
        other => Err(TransportError(format!(
            "HQ address {base_url:?} has scheme {other:?}: use https:// (or http:// to this \
            machine)"
        ))),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A transport error a person can act on: the reqwest error's whole cause chain, with a hint
/// for the usual TLS and connection problems.
fn explain(base_url: &str, e: &reqwest::Error) -> TransportError {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !chain.contains(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = s.source();
    }
    let lower = chain.to_ascii_lowercase();
    let hint = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        Some(format!(
            "HQ's TLS certificate at {base_url} is not signed by an authority this terminal \
            trusts. If HQ uses its own certificate authority, give its CA certificate: \
            `tillstone sync enroll --ca-cert hq-ca.pem …`"
        ))
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        Some(format!(
            "HQ's TLS certificate is not valid for the host in {base_url}: use the host name \
            the certificate was issued for"
        ))
    } else if lower.contains("expired") || lower.contains("notvalidyet") {
        Some(format!(
            "HQ's TLS certificate at {base_url} is expired or not yet valid: check this \
            terminal's clock, or ask HQ to renew the certificate"
        ))
    } else if lower.contains("invalid peer certificate") || lower.contains("certificate") {
        Some(format!(
            "HQ's TLS certificate at {base_url} was refused: check the address and the CA \
            certificate given with --ca-cert"
        ))
    } else if lower.contains("invalidcontenttype")
        || lower.contains("corrupt message")
        || lower.contains("wrong version number")
    {
        Some(format!(
            "HQ at {base_url} did not answer with TLS: check the port, or whether HQ serves \
            plain http"
        ))
    } else if lower.contains("connection refused") {
        Some(format!(
            "nothing answers at {base_url} (connection refused): is tillstone-cloud running \
            and the address right?"
        ))
    } else if e.is_timeout() {
        Some(format!("HQ at {base_url} did not answer in time"))
    } else {
        None
    };
    TransportError(match hint {
        Some(h) => format!("{h} ({chain})"),
        None => chain,
    })
}

/// HTTP(S) to a base URL such as `https://hq.example.com` (or `http://127.0.0.1:8080`).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    base_url: String,
    allow_http: bool,
    client: reqwest::blocking::Client,
}

impl HttpTransport {
    pub fn new(base_url: impl Into<String>) -> Result<HttpTransport, TransportError> {
        HttpTransport::with_options(base_url, &TransportOptions::default())
    }

    pub fn with_timeout(
        base_url: impl Into<String>,
        timeout: Duration,
    ) -> Result<HttpTransport, TransportError> {
        HttpTransport::with_options(
            base_url,
            &TransportOptions {
                timeout,
                ..TransportOptions::default()
            },
        )
    }

    /// A transport to `base_url` (checked by [`check_url`]) with `options`. A CA file that holds
    /// no certificate is an error here, not at the first request.
    pub fn with_options(
        base_url: impl Into<String>,
        options: &TransportOptions,
    ) -> Result<HttpTransport, TransportError> {
        let base_url = base_url.into().trim_end_matches('/').to_string();
        check_url(&base_url, options.allow_http)?;
        HttpTransport::build(base_url, options)
    }

    /// A transport without a base URL, for [`HttpTransport::send_to`] only (tests that pick a
    /// server per request).
    pub fn unbound(options: &TransportOptions) -> Result<HttpTransport, TransportError> {
        HttpTransport::build(String::new(), options)
    }

    fn build(
        base_url: String,
        options: &TransportOptions,
    ) -> Result<HttpTransport, TransportError> {
        let timeout = options.timeout;
        let mut builder = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)));
        if let Some(pem) = &options.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| TransportError(format!("the CA certificate file is not PEM: {e}")))?;
            if certs.is_empty() {
                return Err(TransportError(
                    "the CA certificate file holds no certificate (expected \
                    `-----BEGIN CERTIFICATE-----`)"
                        .into(),
                ));
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let client = builder
            .build()
            .map_err(|e| TransportError(format!("cannot set up HTTPS: {e}")))?;
        Ok(HttpTransport {
            base_url,
            allow_http: options.allow_http,
            client,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Send `req` to another base URL with this transport's connection pool (the URL is
    /// checked like the base URL).
    pub fn send_to(&self, base_url: &str, req: &Request) -> Result<Response, TransportError> {
        check_url(base_url, self.allow_http)?;
        let mut r = self
            .client
            .post(format!("{}{}", base_url.trim_end_matches('/'), req.path))
            .header("content-type", "application/json")
            .body(req.body.clone());
        if let Some(c) = &req.credential {
            r = r.header("authorization", format!("Bearer {c}"));
        }
        if req.gzip {
            r = r.header("content-encoding", "gzip");
        }
        let res = r.send().map_err(|e| explain(base_url, &e))?;
        let status = res.status().as_u16();
        let body = res.bytes().map_err(|e| explain(base_url, &e))?.to_vec();
        Ok(Response { status, body })
    }
}

impl Transport for HttpTransport {
    fn send(&self, req: &Request) -> Result<Response, TransportError> {
        self.send_to(&self.base_url, req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine_unless_allowed() {
        for ok in [
            "https://hq.example.com",
            "https://10.0.0.5:8443",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        let e = check_url("http://hq.example.com:8080", false).unwrap_err();
        assert!(
            e.0.contains("refusing plain http://") && e.0.contains("--allow-http"),
            "{e}"
        );
        assert!(check_url("http://hq.example.com:8080", true).is_ok());
        assert!(
            check_url("ftp://hq", true)
                .unwrap_err()
                .0
                .contains("scheme")
        );
        assert!(
            check_url("hq.example.com", false)
                .unwrap_err()
                .0
                .contains("not a URL")
        );
        assert!(HttpTransport::new("http://192.168.1.20:8080").is_err());
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_up_front() {
        let e = HttpTransport::with_options(
            "https://hq.example.com",
            &TransportOptions {
                ca_pem: Some(b"not a certificate".to_vec()),
                ..TransportOptions::default()
            },
        )
        .unwrap_err();
        assert!(
            e.0.contains("no certificate") || e.0.contains("not PEM"),
            "{e}"
        );
    }
}
