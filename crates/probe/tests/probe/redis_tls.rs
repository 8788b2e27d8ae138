//! `probe redis` with TLS (`rediss://`, redis-server's `tls-port`) and ACL
//! users, against Debian's redis-server and certificates from a CA made in
//! the test.

use testkit::Redis;
use testkit::pki::Pki;

use crate::{check, probe};

const ACL_PW: &str = "acl-pw-5d1e9a";
const DEFAULT_PW: &str = "default-pw-81c4f0";

#[test]
fn rediss_with_ca_insecure_and_acl_users() {
    let pki = Pki::new();
    let redis = Redis::builder()
        .tls(&pki.localhost())
        .password(DEFAULT_PW)
        .acl_user("app", ACL_PW)
        .start();
    let ca = pki.ca();
    let url = redis.user_url("localhost", "app", ACL_PW);
    let secrets = |r: &testkit::cli::Ran| {
        r.assert_absent(ACL_PW);
        r.assert_absent(DEFAULT_PW);
    };

    // The ACL user over verified TLS.
    let r = probe().args(["redis", &url, "--ca", &ca]).run();
    secrets(&r);
    r.assert_code(0);
    let c = check(&r.assert_envelope("probe")).clone();
    assert_eq!(c["tls"], true, "{c}");
    assert_eq!(c["insecure"], false);
    assert_eq!(c["ca"], ca.as_str());
    assert!(c["url"].as_str().unwrap().contains("app:***@"), "{c}");
    assert!(c["message"].as_str().unwrap().starts_with("PONG"), "{c}");

    // The default user with a password only, from PROBE_REDIS_URL.
    let r = probe()
        .args(["redis", "--ca", &ca])
        .env(
            "PROBE_REDIS_URL",
            format!("rediss://:{DEFAULT_PW}@localhost:{}/0", redis.port),
        )
        .run();
    secrets(&r);
    r.assert_code(0);

    // The system's roots do not know the test CA; nor does another CA.
    let other = Pki::new();
    for extra in [vec![], vec!["--ca".to_string(), other.ca()]] {
        let r = probe().args(["redis", &url]).args(&extra).run();
        secrets(&r);
        r.assert_code(2);
        assert_eq!(check(&r.json())["error"], "tls", "{}", r.stdout);
    }

    // --insecure connects and says so.
    let r = probe().args(["redis", &url, "--insecure"]).run();
    secrets(&r);
    r.assert_code(0);
    let c = check(&r.json()).clone();
    assert_eq!(c["insecure"], true);
    assert!(
        c["message"].as_str().unwrap().contains("not verified"),
        "{c}"
    );

    // A wrong ACL password is refused, and neither password shows.
    let wrong = "wrong-acl-pw-2b7d";
    let r = probe()
        .args([
            "redis",
            &redis.user_url("localhost", "app", wrong),
            "--ca",
            &ca,
            "-v",
        ])
        .run();
    secrets(&r);
    r.assert_absent(wrong);
    r.assert_code(2);
    assert_eq!(check(&r.json())["error"], "auth", "{}", r.stdout);

    // Plaintext to a TLS port fails, --ca or not (it is for rediss://).
    let plain = format!("redis://app:{ACL_PW}@localhost:{}/0", redis.port);
    for extra in [&[][..], &["--ca", &ca][..]] {
        let r = probe()
            .args(["redis", &plain, "--timeout", "2s"])
            .args(extra)
            .run();
        secrets(&r);
        r.assert_code(2);
        assert!(check(&r.json()).get("ca").is_none(), "{}", r.stdout);
    }

    // And in a run file.
    let dir = testkit::temp_dir("redis-run");
    let file = dir.path().join("checks.toml");
    testkit::write(
        &file,
        &format!(
            "[[check]]\nname = \"cache\"\ntype = \"redis\"\nurl = \"rediss://app:${{REDIS_PW}}@localhost:{}/0\"\nca = \"{ca}\"\n",
            redis.port
        ),
    );
    let r = probe()
        .args(["run", file.to_str().unwrap()])
        .env("REDIS_PW", ACL_PW)
        .run();
    secrets(&r);
    r.assert_code(0);
}

#[test]
fn acl_user_on_plaintext_redis() {
    let redis = Redis::builder().acl_user("app", ACL_PW).start();
    let r = probe()
        .args(["redis", &redis.user_url("127.0.0.1", "app", ACL_PW)])
        .run();
    r.assert_absent(ACL_PW);
    r.assert_code(0);
    assert_eq!(check(&r.json())["tls"], false);
}
