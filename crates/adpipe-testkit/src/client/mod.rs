//! An HTTP client for adpipe's API with one method per endpoint, so that a
//! test reads as the story it tells (`app.post_ad(..)`,
//! `moderator.decide(id, ..)`) instead of a chain of request, send and
//! JSON per call. The endpoints are grouped as the API is: `public`
//! (what submitters and sites call), `moderation` (the review queue and
//! the ads) and `team` (sessions, accounts, tokens, the audit log).
//!
//! Every method answers an [`Answer`] whatever the status: refusals are
//! what many tests are about. Only a request that gets no HTTP answer at
//! all panics (the `try_` methods return it instead, for tests that break
//! the server on purpose).

mod moderation;
mod public;
mod team;

use std::borrow::Cow;
use std::fmt;

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;

pub use public::ad_form;

/// adpipe's API at `base`, called as one caller: nobody, the holder of a
/// bearer token, or a signed-in browser (a session cookie). Cheap to
/// clone: [`as_token`](Self::as_token) and
/// [`with_cookie`](Self::with_cookie) make the same client act as
/// someone else.
#[derive(Clone, Debug)]
pub struct ApiClient {
    /// `http://host:port`, without a trailing slash.
    pub base: String,
    /// What every request goes through (its timeout is the caller's).
    pub http: reqwest::Client,
    bearer: Option<String>,
    cookie: Option<String>,
    /// The `Origin` header sent: a browser sends its page's, and the server
    /// refuses a signed-in change from any other.
    origin: Option<String>,
    /// Sent with every request (a `User-Agent`, an `X-Forwarded-For`).
    headers: Vec<(String, String)>,
}

impl ApiClient {
    /// Nobody, with a client of its own (no timeout).
    pub fn new(base: impl Into<String>) -> Self {
        Self::with_http(base, reqwest::Client::new())
    }

    /// Nobody, through `http` (e.g. one with a timeout).
    pub fn with_http(base: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            http,
            bearer: None,
            cookie: None,
            origin: None,
            headers: Vec::new(),
        }
    }

    /// The same API called with `Authorization: Bearer token` (the
    /// bootstrap token or an account's).
    pub fn as_token(&self, token: &str) -> Self {
        Self {
            bearer: Some(token.to_owned()),
            cookie: None,
            origin: None,
            ..self.clone()
        }
    }

    /// The same API called as a browser signed in on this site: the
    /// session `cookie` (`adpipe_session=…`) and this site's `Origin`.
    pub fn with_cookie(&self, cookie: &str) -> Self {
        Self {
            bearer: None,
            cookie: Some(cookie.to_owned()),
            origin: Some(self.base.clone()),
            ..self.clone()
        }
    }

    /// The same caller with another `Origin` header (`None`: none), as a
    /// page elsewhere, or a script that sends none, would.
    pub fn with_origin(&self, origin: Option<&str>) -> Self {
        Self {
            origin: origin.map(str::to_owned),
            ..self.clone()
        }
    }

    /// The same caller sending `name: value` with every request.
    pub fn with_header(&self, name: &str, value: &str) -> Self {
        let mut client = self.clone();
        client.headers.push((name.to_owned(), value.to_owned()));
        client
    }

    /// The session cookie this client sends, if it is a signed-in one.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// `method base+path` as this caller, ready for a body.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(origin) = &self.origin {
            request = request.header("origin", origin);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }

    /// Sends `request`; panics, naming it, when no HTTP answer comes.
    pub async fn send(&self, request: RequestBuilder) -> Answer {
        let request = request.build().expect("a well-formed request");
        let what = format!("{} {}", request.method(), request.url());
        self.execute(request)
            .await
            .unwrap_or_else(|error| panic!("{what}: no answer: {error}"))
    }

    /// Sends `request`; `Err` when no HTTP answer came (a server being
    /// killed, a full disk). A body cut off mid-way reads as empty.
    pub async fn try_send(&self, request: RequestBuilder) -> Result<Answer, reqwest::Error> {
        self.execute(request.build()?).await
    }

    async fn execute(&self, request: reqwest::Request) -> Result<Answer, reqwest::Error> {
        let response = self.http.execute(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map(|bytes| bytes.to_vec())
            .unwrap_or_default();
        Ok(Answer::new(status, headers, bytes))
    }

    /// `method path` with an optional JSON body: for what has no method of
    /// its own (a route table, a path the API refuses).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }
}

/// `path`, with `?query` unless the query is empty.
fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// What the API answered: its status, headers and body.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON; `Value::Null` when it is empty or not JSON (an
    /// image, the metrics text, a 204).
    pub body: Value,
    /// The body as it came.
    pub bytes: Vec<u8>,
}

impl Answer {
    fn new(status: u16, headers: HeaderMap, bytes: Vec<u8>) -> Self {
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            body,
            bytes,
        }
    }

    /// The `error.code` of a refusal.
    pub fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }

    /// A header's value, if it is there and ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body as text (U+FFFD where it is not UTF-8).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }

    /// The `id` the body names (a submitted ad's): panics without one.
    pub fn id(&self) -> &str {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {self}"))
    }

    /// The session cookie a sign-in set, as a browser sends it back
    /// (`adpipe_session=…`, without its attributes).
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with("adpipe_session="))
            .and_then(|value| value.split(';').next())
            .map(str::to_owned)
    }
}

/// `answer["field"]`: a field of the JSON body (`Null` when missing).
impl std::ops::Index<&str> for Answer {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        &self.body[key]
    }
}

/// `HTTP 409 {"error":…}`: for the messages of failed assertions.
impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.body.is_null() {
            write!(f, "HTTP {} {}", self.status, self.body)
        } else if let Ok(text) = std::str::from_utf8(&self.bytes) {
            write!(f, "HTTP {} {text}", self.status)
        } else {
            write!(f, "HTTP {} ({} bytes)", self.status, self.bytes.len())
        }
    }
}
