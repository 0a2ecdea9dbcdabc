//! The browser-origin allowlist (SPEC.md section 2): a request carrying an `Origin` that
//! is not listed is refused with 403; requests without one (native apps, servers, curl)
//! pass, since only browsers send it and only browsers need protecting from other sites.
//! The Socket.IO handshake will use the same list.

use crate::config::normalise_origin;
use crate::error::AppError;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct OriginAllowlist {
    origins: BTreeSet<String>,
}

impl OriginAllowlist {
    /// The server's own origins (derived from the address it listens on) plus `extra`.
    /// On a loopback or unspecified address, both `localhost` and `127.0.0.1` spellings
    /// of the port are its own, since a browser may use either.
    pub fn new(local: SocketAddr, extra: impl IntoIterator<Item = String>) -> OriginAllowlist {
        let mut origins: BTreeSet<String> =
            extra.into_iter().map(|o| normalise_origin(&o)).collect();
        let port = local.port();
        origins.insert(format!("http://{local}"));
        if local.ip().is_loopback() || local.ip().is_unspecified() {
            origins.insert(format!("http://localhost:{port}"));
            origins.insert(format!("http://127.0.0.1:{port}"));
            origins.insert(format!("http://[::1]:{port}"));
        }
        OriginAllowlist { origins }
    }

    /// Whether a request with this `Origin` header (or none) may proceed.
    pub fn allows(&self, origin: Option<&HeaderValue>) -> bool {
        match origin {
            None => true,
            Some(value) => value
                .to_str()
                .is_ok_and(|o| self.origins.contains(&normalise_origin(o))),
        }
    }

    /// The listed origins, for the CORS layer.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.origins.iter().map(String::as_str)
    }
}

/// Middleware: refuses requests from origins outside the list.
pub async fn check_origin(
    State(allowlist): State<Arc<OriginAllowlist>>,
    request: Request,
    next: Next,
) -> Response {
    if allowlist.allows(request.headers().get(header::ORIGIN)) {
        next.run(request).await
    } else {
        AppError::Forbidden("Origin not allowed".to_owned()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_origin_and_extras_are_allowed_others_not() {
        let list = OriginAllowlist::new(
            "127.0.0.1:3000".parse().unwrap(),
            ["http://localhost:8081/".to_owned()],
        );
        let allows = |o: &str| list.allows(Some(&HeaderValue::from_str(o).unwrap()));
        assert!(list.allows(None));
        assert!(allows("http://127.0.0.1:3000"));
        assert!(allows("http://localhost:3000"));
        assert!(allows("http://localhost:8081"));
        assert!(!allows("http://evil.example"));
        assert!(!allows("null"));
        assert!(!allows("http://localhost:3001"));
    }
}
