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

/// HTTP(S) to a base URL such as `http://127.0.0.1:8080`.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    base_url: String,
    client: reqwest::blocking::Client,
}

impl HttpTransport {
    pub fn new(base_url: impl Into<String>) -> Result<HttpTransport, TransportError> {
        HttpTransport::with_timeout(base_url, Duration::from_secs(30))
    }

    pub fn with_timeout(
        base_url: impl Into<String>,
        timeout: Duration,
    ) -> Result<HttpTransport, TransportError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| TransportError(e.to_string()))?;
        Ok(HttpTransport {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            client,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Send `req` to another base URL with this transport's connection pool.
    pub fn send_to(&self, base_url: &str, req: &Request) -> Result<Response, TransportError> {
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
        let res = r.send().map_err(|e| TransportError(e.to_string()))?;
        let status = res.status().as_u16();
        let body = res
            .bytes()
            .map_err(|e| TransportError(e.to_string()))?
            .to_vec();
        Ok(Response { status, body })
    }
}

impl Transport for HttpTransport {
    fn send(&self, req: &Request) -> Result<Response, TransportError> {
        self.send_to(&self.base_url, req)
    }
}
