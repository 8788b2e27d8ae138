//! `probe tcp HOST:PORT`: does anything accept connections there?

use std::time::{Duration, Instant};

use golive_core::{Status, duration_ms};

use crate::outcome::Outcome;

/// A TCP connect check.
#[derive(Debug)]
pub struct TcpSpec {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl TcpSpec {
    /// From `HOST:PORT`.
    pub fn new(address: &str) -> Result<Self, String> {
        let (host, port) = super::parse_host_port(address)?;
        Ok(TcpSpec { host, port })
    }
}

/// Connect once within `limit`.
pub fn probe(spec: &TcpSpec, limit: Duration) -> Outcome {
    let t0 = Instant::now();
    match super::connect(&spec.host, spec.port, limit) {
        Ok((_stream, addr)) => {
            let took = t0.elapsed();
            Outcome::new(
                Status::Ok,
                format!("connected to {addr} in {}", crate::outcome::took(took)),
            )
            .with("address", addr.to_string())
            .with("latency_ms", duration_ms(took))
        }
        Err((msg, kind)) => Outcome::critical(msg)
            .with("address", format!("{}:{}", spec.host, spec.port))
            .with("error", kind),
    }
}
