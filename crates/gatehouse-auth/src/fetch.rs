//! Bounded HTTP(S) GETs for key sets and discovery documents.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, USER_AGENT};
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Options of the HTTP client used to fetch key sets.
#[derive(Debug, Clone)]
pub struct HttpClientOptions {
    /// `User-Agent` sent with every fetch.
    pub user_agent: String,
    /// Timeout of the TCP connect alone (the whole fetch has the provider's `fetch_timeout`).
    pub connect_timeout: Duration,
}

impl Default for HttpClientOptions {
    fn default() -> Self {
        Self {
            user_agent: concat!("gatehouse/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The whole fetch took longer than the timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The server answered with a non-200 status.
    #[error("status {0}")]
    Status(u16),
    /// The body exceeded the size cap.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// Connection or protocol failure.
    #[error("transport: {0}")]
    Transport(String),
    /// The document is not what was expected.
    #[error("bad document: {0}")]
    Document(String),
}

/// A fetched body and the freshness its server declared.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// The body.
    pub body: Bytes,
    /// `Cache-Control: max-age`, zero for `no-cache` / `no-store`.
    pub max_age: Option<Duration>,
}

/// A shared client for all providers.
#[derive(Clone, Debug)]
pub(crate) struct Fetcher {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    user_agent: HeaderValue,
}

impl Fetcher {
    /// Builds the client: rustls with aws-lc-rs and the Mozilla (webpki) roots.
    pub fn new(options: &HttpClientOptions) -> Result<Self, FetchError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(options.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| FetchError::Transport(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(https);
        let user_agent = HeaderValue::from_str(&options.user_agent).map_err(|_| {
            FetchError::Transport("user agent is not a valid header value".to_owned())
        })?;
        Ok(Self { client, user_agent })
    }

    /// GETs `uri`, bounded in time (connection included) and in body size.
    pub async fn get(
        &self,
        uri: &Uri,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        tokio::time::timeout(timeout, self.get_unbounded_time(uri, max_bytes))
            .await
            .map_err(|_| FetchError::Timeout(timeout))?
    }

    async fn get_unbounded_time(&self, uri: &Uri, max_bytes: usize) -> Result<Fetched, FetchError> {
        let request = Request::get(uri.clone())
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, self.user_agent.clone())
            .body(Empty::new())
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| FetchError::Transport(error_chain(&e)))?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > max_bytes as u64) {
            return Err(FetchError::TooLarge(max_bytes));
        }
        let max_age = response
            .headers()
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_max_age);
        let body = Limited::new(response.into_body(), max_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    FetchError::TooLarge(max_bytes)
                } else {
                    FetchError::Transport(e.to_string())
                }
            })?
            .to_bytes();
        Ok(Fetched { body, max_age })
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The freshness a `Cache-Control` value declares: `max-age`, or zero for `no-cache`/`no-store`.
pub(crate) fn parse_max_age(value: &str) -> Option<Duration> {
    let mut no_cache = false;
    for directive in value.split(',').map(str::trim) {
        let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim();
        if name.eq_ignore_ascii_case("max-age") {
            if let Ok(secs) = arg.trim().trim_matches('"').parse::<u64>() {
                return Some(Duration::from_secs(secs));
            }
        } else if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            no_cache = true;
        }
    }
    no_cache.then_some(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            parse_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_max_age("Max-Age=\"60\", must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("public"), None);
        assert_eq!(parse_max_age("max-age=soon"), None);
    }
}
