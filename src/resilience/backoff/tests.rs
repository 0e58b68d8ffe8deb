//! Backoff delays with a seeded RNG, and `Retry-After` parsing.

use super::*;

use rand::SeedableRng;
use rand::rngs::StdRng;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn policy(jitter: bool) -> RetryPolicy {
    RetryPolicy {
        base_delay: ms(200),
        max_delay: ms(5000),
        jitter,
        honor_retry_after: true,
        ..RetryPolicy::default()
    }
}

#[test]
fn jittered_delays_stay_within_base_and_cap() {
    let p = policy(true);
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..500 {
        let mut b = Backoff::new(&p);
        let mut prev = ms(200);
        for _ in 0..12 {
            let d = b.next_delay(&p, None, &mut rng);
            assert!(d >= ms(200), "{d:?} below base");
            assert!(d <= ms(5000), "{d:?} above cap");
            assert!(d <= prev * 3, "{d:?} above 3 x previous {prev:?}");
            prev = d;
        }
    }
}

#[test]
fn first_jittered_delay_spans_base_to_three_times_base() {
    let p = policy(true);
    let mut rng = StdRng::seed_from_u64(1);
    let firsts: Vec<Duration> = (0..2000)
        .map(|_| Backoff::new(&p).next_delay(&p, None, &mut rng))
        .collect();
    let lo = firsts.iter().min().copied().unwrap_or_default();
    let hi = firsts.iter().max().copied().unwrap_or_default();
    assert!(lo >= ms(200) && lo < ms(220), "min {lo:?}");
    assert!(hi <= ms(600) && hi > ms(580), "max {hi:?}");
}

#[test]
fn jittered_delays_grow_then_hit_the_cap() {
    let p = policy(true);
    let mut rng = StdRng::seed_from_u64(42);
    let runs = 1000;
    let mut sums = [Duration::ZERO; 8];
    let mut capped = 0;
    for _ in 0..runs {
        let mut b = Backoff::new(&p);
        for sum in sums.iter_mut() {
            let d = b.next_delay(&p, None, &mut rng);
            *sum += d;
            if d == ms(5000) {
                capped += 1;
            }
        }
    }
    let means: Vec<Duration> = sums.iter().map(|s| *s / runs).collect();
    for w in means.windows(2).take(3) {
        assert!(w[1] > w[0], "mean delays should grow: {means:?}");
    }
    assert!(capped > 0, "some delay should reach the cap");
    assert!(
        means[7] > ms(2500),
        "late delays should be near the cap: {means:?}"
    );
}

#[test]
fn same_seed_same_delays() {
    let p = policy(true);
    let draw = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut b = Backoff::new(&p);
        (0..6)
            .map(|_| b.next_delay(&p, None, &mut rng))
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(3), draw(3));
}

#[test]
fn jitter_off_is_plain_exponential_capped() {
    let p = policy(false);
    let mut rng = StdRng::seed_from_u64(0);
    let mut b = Backoff::new(&p);
    let got: Vec<Duration> = (0..8).map(|_| b.next_delay(&p, None, &mut rng)).collect();
    let want: Vec<Duration> = [200, 400, 800, 1600, 3200, 5000, 5000, 5000]
        .into_iter()
        .map(ms)
        .collect();
    assert_eq!(got, want);
    assert_eq!(b.attempts(), 8);
    for _ in 0..100 {
        assert_eq!(b.next_delay(&p, None, &mut rng), ms(5000));
    }
}

#[test]
fn retry_after_is_a_floor_even_above_the_cap() {
    let mut rng = StdRng::seed_from_u64(9);
    for jitter in [true, false] {
        let p = policy(jitter);
        let mut b = Backoff::new(&p);
        assert_eq!(
            b.next_delay(&p, Some(Duration::from_secs(30)), &mut rng),
            Duration::from_secs(30)
        );
        // A short Retry-After does not shorten the computed delay.
        let d = b.next_delay(&p, Some(ms(1)), &mut rng);
        assert!(d >= ms(200), "{d:?}");
        // The long floor did not inflate the following delays.
        let d = b.next_delay(&p, None, &mut rng);
        assert!(d <= ms(5000), "{d:?}");
    }
}

#[test]
fn retry_after_ignored_when_not_honoured() {
    let p = RetryPolicy {
        honor_retry_after: false,
        ..policy(false)
    };
    let mut rng = StdRng::seed_from_u64(9);
    let mut b = Backoff::new(&p);
    assert_eq!(
        b.next_delay(&p, Some(Duration::from_secs(30)), &mut rng),
        ms(200)
    );
}

#[test]
fn degenerate_policies_do_not_panic() {
    let mut rng = StdRng::seed_from_u64(5);
    for (base, max) in [(0, 0), (0, 100), (500, 100), (u64::MAX, u64::MAX)] {
        for jitter in [true, false] {
            let p = RetryPolicy {
                base_delay: ms(base),
                max_delay: ms(max),
                jitter,
                ..RetryPolicy::default()
            };
            let mut b = Backoff::new(&p);
            for _ in 0..70 {
                assert!(b.next_delay(&p, None, &mut rng) <= ms(max));
            }
        }
    }
}

#[test]
fn parses_seconds() {
    let now = SystemTime::now();
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("1.5", now), Some(ms(1500)));
    assert_eq!(parse_retry_after("0.25", now), Some(ms(250)));
    assert_eq!(parse_retry_after("3.", now), Some(Duration::from_secs(3)));
}

#[test]
fn parses_http_dates() {
    let date = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
    assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"), Some(date));
    assert_eq!(
        parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
        Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
    );
    assert_eq!(
        parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT"),
        Some(UNIX_EPOCH + Duration::from_secs(1_709_251_199))
    );
    let now = date - Duration::from_secs(90);
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
        Some(Duration::from_secs(90))
    );
    let later = date + Duration::from_secs(5);
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", later),
        Some(Duration::ZERO)
    );
    assert_eq!(
        parse_retry_after("Thu, 01 Jan 1960 00:00:00 GMT", later),
        Some(Duration::ZERO)
    );
}

#[test]
fn rejects_junk() {
    let now = SystemTime::now();
    for junk in [
        "",
        "  ",
        "-5",
        "+5",
        "1e3",
        "1.2.3",
        ".",
        "NaN",
        "inf",
        "soon",
        "99999999999999999999999",
        "Wed, 21 Oct 2015 07:28:00 UTC",
        "Wed 21 Oct 2015 07:28:00 GMT",
        "Wed, 21 October 2015 07:28:00 GMT",
        "Xyz, 21 Oct 2015 07:28:00 GMT",
        "Wed, 32 Oct 2015 07:28:00 GMT",
        "Wed, 29 Feb 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 24:00:00 GMT",
        "Wed, 21 Oct 2015 07:28 GMT",
        "Wed, 21 Oct 2015 07:28:00:00 GMT",
        "Wed, 21 Oct 2015 07:28:00 GMT extra",
        "Wednesday, 21-Oct-15 07:28:00 GMT",
        "Wed Oct 21 07:28:00 2015",
    ] {
        assert_eq!(parse_retry_after(junk, now), None, "{junk:?}");
    }
}
