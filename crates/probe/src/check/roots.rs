//! Trust roots for TLS: golive-http's [`Roots`] (a private CA file with
//! `--ca`, or the system's bundle, or Mozilla's roots compiled in), shared
//! by the http, prometheus and tls checks.

pub use golive_http::Roots;
