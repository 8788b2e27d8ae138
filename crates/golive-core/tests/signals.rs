//! A caught signal is remembered and ends waits and commands within the
//! second the contract allows (its own test binary: the flag is global).

use std::time::{Duration, Instant};

use golive_core::{process, signals};

#[test]
fn a_caught_signal_ends_a_sleep_and_a_running_command() {
    signals::catch();
    assert!(signals::sleep(Duration::from_millis(1)));
    assert_eq!(signals::received(), None);
    let t = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(300));
        signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
    });
    let t0 = Instant::now();
    let argv: Vec<String> = ["sh", "-c", "sleep 30 & sleep 30"]
        .map(String::from)
        .to_vec();
    let f = process::run_interruptible(&argv, &[], Duration::from_secs(60)).unwrap();
    t.join().unwrap();
    assert_eq!(f.interrupted, Some("SIGTERM"));
    assert!(!f.timed_out && f.code.is_none());
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert!(
        f.describe().starts_with("stopped on SIGTERM"),
        "{}",
        f.describe()
    );
    assert_eq!(signals::received(), Some("SIGTERM"));
    assert!(!signals::sleep(Duration::from_secs(30)));
    // Clean-up after a signal (a restore) runs to its end.
    let f = process::run(
        &["sh".into(), "-c".into(), "sleep 0.2; exit 4".into()],
        &[],
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(f.code, Some(4));
}
