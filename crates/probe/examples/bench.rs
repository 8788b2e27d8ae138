//! Servers for bench/probe.sh: an nginx health endpoint that demands an API
//! key, PostgreSQL, Redis and an HTTP endpoint that answers after 100 ms,
//! plus a `probe run` file of 200 checks against it.
//!
//! Prints `NAME=value` lines, then `READY`, and keeps the servers up until
//! its stdin closes.

use std::fmt::Write as _;
use std::io::Read;
use std::time::Duration;

use testkit::{Nginx, Postgres, Redis, SlowHttp};

const KEY: &str = "bench-key-6a1d";

fn main() {
    let nginx = Nginx::health(KEY);
    let pg = Postgres::start();
    let redis = Redis::start();
    let slow = SlowHttp::start(Duration::from_millis(100));
    let dir = testkit::temp_dir("probe-bench");
    let mut toml = String::from("[defaults]\ntimeout = \"5s\"\n");
    let mut urls = String::new();
    for i in 0..200 {
        let url = format!("{}/health?n={i}", slow.url());
        let _ = write!(
            toml,
            "\n[[check]]\nname = \"endpoint-{i:03}\"\ntype = \"http\"\nurl = \"{url}\"\n"
        );
        let _ = writeln!(urls, "{url}");
    }
    let config = dir.path().join("200-checks.toml");
    let url_list = dir.path().join("200-urls.txt");
    testkit::write(&config, &toml);
    testkit::write(&url_list, &urls);
    println!("API_URL={}", nginx.url("/health"));
    println!("API_KEY={KEY}");
    println!("PG_DSN={}", pg.dsn());
    println!("PG_PORT={}", pg.port);
    println!("PG_PASSWORD={}", testkit::postgres::APP_PASSWORD);
    println!("REDIS_URL={}", redis.url());
    println!("REDIS_PORT={}", redis.port);
    println!("RUN_CONFIG={}", config.display());
    println!("RUN_URLS={}", url_list.display());
    println!("READY");
    // Serve until bench/probe.sh closes our stdin.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}
