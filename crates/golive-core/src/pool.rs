//! The one bounded worker pool: run `f` over many items on at most
//! `workers` threads and get the results back in the items' order.
//!
//! Used wherever a tool does many independent, blocking things at once
//! (probe's checks, metric-gate's rules). The threads are scoped, so `f` may
//! borrow from the caller; with one worker (or one item) everything runs on
//! the calling thread, with no thread started at all.
//!
//! A panic in `f` is a bug: the panic hook of [`crate::runner`] reports it
//! and ends the process with exit 3, like anywhere else.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` applied to every item, at most `workers` at a time (at least one),
/// results in the order of `items`.
///
/// ```
/// let squares = golive_core::pool::map(&[1, 2, 3, 4], 3, |n| n * n);
/// assert_eq!(squares, [1, 4, 9, 16]);
/// ```
pub fn map<T, R, F>(items: &[T], workers: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let workers = workers.clamp(1, items.len().max(1));
    if workers == 1 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    // Every index below items.len() was taken by exactly one worker, and a
    // worker that panicked made the scope panic above: every slot is full.
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .expect("every item was run")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u64> = (0..50).collect();
        // Later items finish first; the order must not follow.
        let out = map(&items, 8, |&n| {
            std::thread::sleep(Duration::from_millis(50 - n));
            n * 2
        });
        assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn at_most_workers_run_at_once() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items = [(); 12];
        let t0 = Instant::now();
        map(&items, 3, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert!(
            t0.elapsed() >= Duration::from_millis(120),
            "four waves of three"
        );
    }

    #[test]
    fn no_items_and_zero_workers_are_fine() {
        assert!(map(&[] as &[u8], 4, |b| *b).is_empty());
        assert_eq!(map(&[7], 0, |n| n + 1), [8]);
    }
}
