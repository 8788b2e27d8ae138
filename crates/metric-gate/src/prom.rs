//! The Prometheus HTTP API: golive-http's client, the one probe uses too
//! (instant and range queries with a timeout on every request, basic or
//! bearer auth and extra headers, proxies from the environment named in
//! every error, answers checked before they are believed).

pub use golive_http::prom::{Answer, PromClient, QueryError, Series, parse_answer, parse_value};
pub use golive_http::{Endpoint, Options};
