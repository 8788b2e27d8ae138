//! golive-http: the one way golive's tools speak HTTP.
//!
//! - [`Client`]: ureq over rustls, a timeout on every request, TLS verified
//!   by default against the system's roots or only a `--ca FILE`
//!   ([`Roots`]), `insecure` shown in reports, basic auth from the URL's
//!   userinfo or a user and password, a bearer token, extra headers (a
//!   tenant's `X-Scope-OrgID`) — every secret registered with
//!   [`golive_core::redact`] where it is known;
//! - [`Proxy`]: the route, from `http_proxy`/`https_proxy`/`all_proxy` and
//!   `no_proxy` read as curl reads them, or direct with `--no-proxy`; a
//!   proxy used shows in the report and in every error ("via proxy …");
//! - [`prom`]: the Prometheus HTTP API (instant and range queries, targets)
//!   over that client, its answers checked before they are believed.
//!
//! Everything is synchronous: a request blocks its thread until it is
//! answered or its timeout passes.
#![deny(missing_docs)]

mod client;
mod headers;
pub mod prom;
mod proxy;
mod roots;

pub use client::{
    Client, Endpoint, ErrorKind, HttpError, Options, decode_query_value, encode_query_value,
    read_token_file, split_userinfo, timed_out,
};
pub use headers::{parse_header, parse_headers};
pub use proxy::{Proxy, bypasses};
pub use roots::Roots;
