//! Breaker behaviour under a hand-moved clock (no sleeps).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::resilience::ManualClock;
use crate::resilience::policy::BreakerPolicy;

const KEY: &str = "openai/gpt-4o";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn cfg() -> BreakerPolicy {
    BreakerPolicy {
        failure_threshold: 3,
        failure_window: secs(60),
        open_duration: secs(30),
        initial_open: secs(30),
        half_open_max_concurrent: 2,
    }
}

fn registry() -> (Arc<ManualClock>, BreakerRegistry) {
    let clock = Arc::new(ManualClock::default());
    let reg = BreakerRegistry::new(clock.clone());
    (clock, reg)
}

fn fail(reg: &BreakerRegistry, key: &str, n: usize) {
    for _ in 0..n {
        reg.record_failure(key, &cfg(), false, "HTTP 500");
    }
}

/// Opens `KEY` and moves past the open duration.
fn half_open(clock: &ManualClock, reg: &BreakerRegistry) {
    fail(reg, KEY, 3);
    clock.advance(secs(30));
}

fn transitions(reg: &BreakerRegistry) -> [u64; 3] {
    let t = reg.transitions();
    let get = |s| {
        t.iter()
            .find(|(st, _)| *st == s)
            .map_or(u64::MAX, |(_, n)| *n)
    };
    [
        get(CircuitState::Closed),
        get(CircuitState::Open),
        get(CircuitState::HalfOpen),
    ]
}

#[test]
fn threshold_within_window_opens() {
    let (clock, reg) = registry();
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Allowed);
    fail(&reg, KEY, 2);
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Allowed);
    clock.advance(secs(59));
    fail(&reg, KEY, 1);
    assert_eq!(reg.state(KEY), CircuitState::Open);
    assert_eq!(
        reg.admit(KEY, &cfg()),
        Admission::Rejected {
            retry_after: secs(30)
        }
    );
}

#[test]
fn failures_spread_beyond_the_window_do_not_open() {
    let (clock, reg) = registry();
    for _ in 0..10 {
        fail(&reg, KEY, 1);
        clock.advance(secs(30)); // at most two failures are ever within 60 s
    }
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Allowed);
    assert_eq!(reg.snapshot()[0].failures_in_window, 1);
    assert_eq!(reg.snapshot()[0].total_failures, 10);
}

#[test]
fn open_rejects_with_the_remaining_time() {
    let (clock, reg) = registry();
    fail(&reg, KEY, 3);
    clock.advance(Duration::from_millis(12_500));
    assert_eq!(
        reg.admit(KEY, &cfg()),
        Admission::Rejected {
            retry_after: Duration::from_millis(17_500)
        }
    );
    // Stragglers failing while open do not extend it.
    fail(&reg, KEY, 1);
    clock.advance(Duration::from_millis(17_499));
    assert!(matches!(reg.admit(KEY, &cfg()), Admission::Rejected { .. }));
}

#[test]
fn half_open_admits_exactly_the_configured_probes() {
    let (clock, reg) = registry();
    half_open(&clock, &reg);
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
    for _ in 0..5 {
        assert_eq!(
            reg.admit(KEY, &cfg()),
            Admission::Rejected {
                retry_after: secs(1)
            }
        );
    }
    assert_eq!(reg.state(KEY), CircuitState::HalfOpen);
    // A config with zero probes still lets one through.
    let (clock, reg) = registry();
    half_open(&clock, &reg);
    let zero = BreakerPolicy {
        half_open_max_concurrent: 0,
        ..cfg()
    };
    assert_eq!(reg.admit(KEY, &zero), Admission::Probe);
    assert!(matches!(reg.admit(KEY, &zero), Admission::Rejected { .. }));
}

#[test]
fn probe_success_closes() {
    let (clock, reg) = registry();
    half_open(&clock, &reg);
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
    reg.record_success(KEY, &cfg(), true);
    assert_eq!(reg.state(KEY), CircuitState::Closed);
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Allowed);
    // The window was cleared: it takes a full threshold to open again.
    fail(&reg, KEY, 2);
    assert_eq!(reg.state(KEY), CircuitState::Closed);
}

#[test]
fn non_probe_success_does_not_close() {
    let (clock, reg) = registry();
    half_open(&clock, &reg);
    reg.record_success(KEY, &cfg(), false);
    assert_eq!(reg.state(KEY), CircuitState::HalfOpen);
}

#[test]
fn probe_failure_reopens_for_a_fresh_duration() {
    let (clock, reg) = registry();
    half_open(&clock, &reg);
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
    clock.advance(secs(5));
    reg.record_failure(KEY, &cfg(), true, "still down");
    assert_eq!(
        reg.admit(KEY, &cfg()),
        Admission::Rejected {
            retry_after: secs(30)
        }
    );
    clock.advance(secs(30));
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
}

#[test]
fn non_probe_failure_while_half_open_reopens() {
    let (clock, reg) = registry();
    half_open(&clock, &reg);
    assert_eq!(reg.state(KEY), CircuitState::HalfOpen);
    reg.record_failure(KEY, &cfg(), false, "straggler");
    assert_eq!(reg.state(KEY), CircuitState::Open);
}

#[test]
fn release_probe_frees_a_slot() {
    let (clock, reg) = registry();
    half_open(&clock, &reg);
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
    assert!(matches!(reg.admit(KEY, &cfg()), Admission::Rejected { .. }));
    reg.release_probe(KEY);
    assert_eq!(reg.state(KEY), CircuitState::HalfOpen);
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
    // Unknown keys are not created by a release.
    reg.release_probe("nobody/none");
    assert_eq!(reg.snapshot().len(), 1);
}

#[test]
fn reset_by_key_and_by_provider() {
    let (_clock, reg) = registry();
    for key in [
        "openai/gpt-4o",
        "openai/gpt-4o-mini",
        "openai-eu/gpt-4o",
        "openrouter/meta/llama-3",
    ] {
        fail(&reg, key, 3);
    }
    assert_eq!(reg.reset("nobody"), 0);
    assert_eq!(reg.reset("openai/gpt-4"), 0);
    assert_eq!(reg.reset("openai/gpt-4o"), 1);
    assert_eq!(reg.state("openai/gpt-4o"), CircuitState::Closed);
    assert_eq!(reg.state("openai/gpt-4o-mini"), CircuitState::Open);
    assert_eq!(reg.reset("openai"), 2); // not openai-eu
    assert_eq!(reg.state("openai/gpt-4o-mini"), CircuitState::Closed);
    assert_eq!(reg.state("openai-eu/gpt-4o"), CircuitState::Open);
    assert_eq!(reg.reset("openrouter"), 1);
    let snap = reg.snapshot();
    let llama = snap.iter().find(|s| s.key == "openrouter/meta/llama-3");
    assert_eq!(llama.map(|s| s.failures_in_window), Some(0));
    assert_eq!(llama.map(|s| s.total_failures), Some(3));
}

#[test]
fn snapshot_contents() {
    let (clock, reg) = registry();
    reg.record_success("b/m", &cfg(), false);
    let long = "x".repeat(1000);
    reg.record_failure(KEY, &cfg(), false, "first");
    reg.record_failure(KEY, &cfg(), false, "second");
    reg.record_failure(KEY, &cfg(), false, &long);
    clock.advance(Duration::from_millis(10_400));
    let snap = reg.snapshot();
    assert_eq!(
        snap.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
        ["b/m", KEY]
    );
    let b = &snap[0];
    assert_eq!(
        (
            b.state,
            b.total_successes,
            b.failures_in_window,
            b.opened_for_secs
        ),
        (CircuitState::Closed, 1, 0, None)
    );
    let o = &snap[1];
    assert_eq!(o.state, CircuitState::Open);
    assert_eq!(o.failures_in_window, 3);
    assert_eq!(o.total_failures, 3);
    assert_eq!(o.last_error.as_deref().map(str::len), Some(300));
    assert_eq!(o.opened_for_secs, Some(10));
    assert_eq!(o.retry_after_secs, Some(20)); // 19.6 s rounded up
    // Counted at snapshot time: the window empties as time passes.
    clock.advance(secs(50));
    let o = &reg.snapshot()[1];
    assert_eq!(
        (
            o.state,
            o.failures_in_window,
            o.opened_for_secs,
            o.retry_after_secs
        ),
        (CircuitState::HalfOpen, 0, Some(60), None)
    );
    let json = serde_json::to_value(o).unwrap_or_default();
    assert_eq!(json["state"], "half_open");
}

#[test]
fn transitions_count_every_target_state() {
    let (clock, reg) = registry();
    assert_eq!(transitions(&reg), [0, 0, 0]);
    half_open(&clock, &reg);
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
    assert_eq!(transitions(&reg), [0, 1, 1]);
    reg.record_failure(KEY, &cfg(), true, "down");
    clock.advance(secs(30));
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
    reg.record_success(KEY, &cfg(), true);
    assert_eq!(transitions(&reg), [1, 2, 2]);
    fail(&reg, KEY, 3);
    assert_eq!(reg.reset(KEY), 1);
    assert_eq!(reg.reset(KEY), 1); // already closed: no transition
    assert_eq!(transitions(&reg), [2, 3, 2]);
}

#[test]
fn config_is_read_per_call() {
    let (_clock, reg) = registry();
    let strict = BreakerPolicy {
        failure_threshold: 1,
        ..cfg()
    };
    reg.record_failure("a/x", &cfg(), false, "e");
    assert_eq!(reg.state("a/x"), CircuitState::Closed);
    reg.record_failure("a/x", &strict, false, "e");
    assert_eq!(reg.state("a/x"), CircuitState::Open);
}

#[test]
fn export_import_round_trip() {
    let (clock, reg) = registry();
    let wall = UNIX_EPOCH + secs(1_700_000_000);
    fail(&reg, KEY, 3);
    reg.record_failure("b/m", &cfg(), false, "one");
    clock.advance(secs(10));
    let exported = reg.export(wall);
    assert_eq!(exported.len(), 2);
    assert_eq!(exported[1].0, KEY);
    let open = &exported[1].1;
    assert_eq!(open.state, CircuitState::Open);
    assert_eq!(open.open_until_unix_ms, Some(1_700_000_020_000));
    assert_eq!(open.failures_unix_ms, vec![1_699_999_990_000; 3]);
    let text = serde_json::to_string(&exported).unwrap_or_default();
    let parsed: Vec<(String, PersistedBreaker)> = serde_json::from_str(&text).unwrap_or_default();
    assert_eq!(parsed, exported);

    // A new process, 5 s of wall time later.
    let (clock2, reg2) = registry();
    assert_eq!(reg2.import(parsed, wall + secs(5)), 2);
    assert_eq!(
        reg2.admit(KEY, &cfg()),
        Admission::Rejected {
            retry_after: secs(15)
        }
    );
    let snap = reg2.snapshot();
    assert_eq!(snap[0].failures_in_window, 1);
    assert_eq!(snap[1].last_error.as_deref(), Some("HTTP 500"));
    clock2.advance(secs(15));
    assert_eq!(reg2.admit(KEY, &cfg()), Admission::Probe);
    assert_eq!(transitions(&reg2), [0, 0, 1]);
}

#[test]
fn import_of_long_gone_state_is_harmless() {
    let (_clock, reg) = registry();
    let p = PersistedBreaker {
        state: CircuitState::Open,
        failures_unix_ms: vec![0, 1],
        failure_window_secs: 60,
        opened_at_unix_ms: Some(0),
        open_until_unix_ms: Some(1),
        total_failures: 2,
        total_successes: 0,
        last_error: None,
    };
    reg.import([(KEY.to_owned(), p)], SystemTime::now());
    assert_eq!(reg.admit(KEY, &cfg()), Admission::Probe);
    assert_eq!(reg.snapshot()[0].failures_in_window, 0);
}

#[test]
fn concurrent_use_from_many_threads() {
    let (clock, reg) = registry();
    let reg = Arc::new(reg);
    let keys = ["p/a", "p/b", "q/c", "q/d"];
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let reg = Arc::clone(&reg);
            std::thread::spawn(move || {
                for n in 0..2000usize {
                    let key = keys[(i + n) % keys.len()];
                    match reg.admit(key, &cfg()) {
                        Admission::Allowed => {
                            if n % 7 == 0 {
                                reg.record_failure(key, &cfg(), false, "e");
                            } else {
                                reg.record_success(key, &cfg(), false);
                            }
                        }
                        Admission::Probe => {
                            if n % 2 == 0 {
                                reg.record_success(key, &cfg(), true);
                            } else {
                                reg.release_probe(key);
                            }
                        }
                        Admission::Rejected { .. } => {}
                    }
                    if n % 500 == 0 {
                        let _ = reg.snapshot();
                        let _ = reg.reset("q");
                    }
                }
            })
        })
        .collect();
    for _ in 0..20 {
        clock.advance(secs(31));
        std::thread::yield_now();
    }
    for h in handles {
        h.join().expect("thread panicked");
    }
    let snap = reg.snapshot();
    assert_eq!(snap.len(), 4);
    let admitted: u64 = snap
        .iter()
        .map(|s| s.total_failures + s.total_successes)
        .sum();
    assert!(admitted > 0);
    for s in snap {
        assert!(s.failures_in_window <= 3 + 8, "{s:?}");
    }
}

/// A flapping provider: the first open period is short, each failed probe doubles it up to
/// `open_duration`, and a successful probe closes the circuit and starts over.
#[test]
fn open_period_starts_short_and_doubles_after_failed_probes() {
    let (clock, reg) = registry();
    let policy = BreakerPolicy {
        initial_open: secs(5),
        ..cfg()
    };
    let rejected_for = |reg: &BreakerRegistry| match reg.admit(KEY, &policy) {
        Admission::Rejected { retry_after } => retry_after,
        other => panic!("expected a rejection, got {other:?}"),
    };
    for _ in 0..3 {
        reg.record_failure(KEY, &policy, false, "HTTP 500");
    }
    assert_eq!(rejected_for(&reg), secs(5));
    // Each failed probe: open again for twice as long, at most 30 s.
    for expected in [10, 20, 30, 30] {
        clock.advance(rejected_for(&reg));
        assert_eq!(reg.admit(KEY, &policy), Admission::Probe);
        reg.record_failure(KEY, &policy, true, "HTTP 500");
        assert_eq!(rejected_for(&reg), secs(expected));
    }
    // Recovered: the probe closes the circuit; the next outage starts at 5 s again.
    clock.advance(secs(30));
    assert_eq!(reg.admit(KEY, &policy), Admission::Probe);
    reg.record_success(KEY, &policy, true);
    assert_eq!(reg.state(KEY), CircuitState::Closed);
    for _ in 0..3 {
        reg.record_failure(KEY, &policy, false, "HTTP 500");
    }
    assert_eq!(rejected_for(&reg), secs(5));
}

#[test]
fn initial_open_never_exceeds_open_duration() {
    let policy = BreakerPolicy::from(&crate::config::CircuitBreakerConfig {
        open_duration_secs: 2,
        initial_open_secs: 5,
        ..crate::config::CircuitBreakerConfig::default()
    });
    assert_eq!(policy.initial_open, secs(2));
}
