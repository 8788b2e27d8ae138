//! Servers for bench/shift.sh: two nginx pools (blue, green) behind a real
//! HAProxy with unix and TCP admin sockets. Writes `KEY=VALUE` lines to the
//! file named by its argument, then serves until stdin closes.
//!
//! `cargo run --release -p shift --example shift-bench -- bench/out/shift.env < fifo`

use std::io::Read;

fn main() {
    let out = std::env::args().nth(1).expect("usage: bench ENV_FILE");
    let blue = testkit::Nginx::start(r#"location / { return 200 "blue"; }"#);
    let green = testkit::Nginx::start(r#"location / { return 200 "green"; }"#);
    let haproxy = testkit::haproxy::Haproxy::builder()
        .server("blue1", &format!("127.0.0.1:{}", blue.port))
        .server("green1", &format!("127.0.0.1:{}", green.port))
        .tcp_admin()
        .start();
    let env = format!(
        "FRONTEND=127.0.0.1:{}\nSOCKET={}\nTCP_ADMIN={}\nBACKEND={}\n",
        haproxy.port,
        haproxy.socket().display(),
        haproxy.tcp_admin().unwrap_or_default(),
        haproxy.backend(),
    );
    std::fs::write(&out, env).expect("write env file");
    // Serve until the script closes our stdin.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(haproxy);
    drop(green);
    drop(blue);
}
