//! What the mock upstream does for a request, chosen by the model name.
//!
//! Pure: parses `<behaviour>[;key=value]*` (for example `echo;delay=20;split=7` or
//! `stream-cut;after=5`) into a [`Behaviour`]; no I/O, no clock. A provider prefix such as
//! `mock/` is ignored, an unrecognised base name behaves as `echo`, and unknown or unparsable
//! options are ignored (lenient wire), so a test may tag a model with `;id=xyz` to get a fresh
//! per-model counter. Entry point: [`Behaviour::parse`].
//!
//! Option values are numbers, except `prefill=` (`continue`, `refuse` or `ignore`); the options
//! are listed in the mock's module docs. Besides the base behaviour, a name sets what a trailing
//! assistant message does ([`Prefill`]) and which fault strikes ([`Behaviour::strike`]: `cut=`
//! wins over `stall_at=`, which wins over the base behaviour's `stream-cut`, `stall` or
//! `malformed`; `faults=<k>` spares the hits after the k-th).

use std::time::Duration;

/// The error a `fail-*` behaviour answers with; rendered in the endpoint's own format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// 500, the provider's generic internal error.
    Internal,
    /// 503, the provider is overloaded.
    Unavailable,
    /// 400, the prompt is longer than the context window.
    ContextLength,
    /// 429 with `Retry-After: <secs>`.
    RateLimited { retry_after_secs: u64 },
}

impl Failure {
    /// HTTP status of this failure.
    pub(crate) fn status(self) -> u16 {
        match self {
            Failure::Internal => 500,
            Failure::Unavailable => 503,
            Failure::ContextLength => 400,
            Failure::RateLimited { .. } => 429,
        }
    }
}

/// The base behaviour (the part of the model name before the first `;`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Reply with the last user message.
    Echo,
    /// Reply `n` words `tok0 tok1 ...`.
    Tokens,
    /// One tool call to the request's first tool.
    ToolCall,
    /// Two tool calls (Paris, Tokyo).
    ParallelToolCalls,
    /// Always fail.
    Fail(Failure),
    /// The first `fails` requests for this exact model string fail, later ones echo.
    FailThenOk { fails: u64, failure: Failure },
    /// Stream: close the connection abruptly after `after` tokens.
    StreamCut,
    /// Stream: stop sending after `after` tokens until the client leaves.
    Stall,
    /// Stream: one malformed event after `after` tokens, then a proper end.
    Malformed,
    /// Never answer; wait until the client leaves.
    Hang,
    /// Read the request, hold it for `ttfb_ms` (default 2 s), then close the connection
    /// without answering: a provider that may have acted on a request it never answered.
    HoldClose,
}

/// What the mock does with a request whose conversation ends with an assistant message
/// (a prefill: the text the answer must continue from).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Prefill {
    /// Answer with the continuation of the prefill, as Anthropic does (`prefill=continue`).
    #[default]
    Continue,
    /// Reject the request with a 400, as providers without prefill do (`prefill=refuse`).
    Refuse,
    /// Answer as if the assistant message were absent (`prefill=ignore`).
    Ignore,
}

impl Prefill {
    /// The mode an option value names; `None` for anything else.
    fn parse(value: &str) -> Option<Prefill> {
        match value {
            "continue" => Some(Prefill::Continue),
            "refuse" => Some(Prefill::Refuse),
            "ignore" => Some(Prefill::Ignore),
            _ => None,
        }
    }
}

/// How a stream fault ends the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrikeKind {
    /// Abort the connection.
    Cut,
    /// Send nothing more; with `close`, abort the connection after that long, else wait
    /// until the client leaves.
    Stall { close: Option<Duration> },
    /// One broken event, then a proper end.
    Malformed,
}

/// The fault a response suffers: what happens, after how many content events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Strike {
    pub kind: StrikeKind,
    /// Content events (text tokens, tool-argument fragments) sent before it strikes.
    pub after: usize,
}

/// A parsed model name: the base behaviour and the options that apply to any behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Behaviour {
    pub kind: Kind,
    /// Per-token delay (`delay=<ms>`); `None` uses `MockOptions::token_delay`.
    pub delay: Option<Duration>,
    /// Write the body in frames of this many bytes (`split=<n>`, `n >= 1`).
    pub split: Option<usize>,
    /// Number of tokens (`n=<tokens>`): the length of `tokens`, a cap on `echo`.
    pub n: Option<usize>,
    /// Tokens sent before `stream-cut` / `stall` / `malformed` strike (`after=<tokens>`).
    pub after: usize,
    /// Wait before sending the response headers (`slow`, or `ttfb_ms=` on any behaviour).
    pub ttfb: Duration,
    /// Streaming: wait before the first token (`slow-first-token`, or `ttft_ms=`).
    pub ttft: Duration,
    /// What a trailing assistant message does (`prefill=`).
    pub prefill: Prefill,
    /// Cut the stream after this many content events, on any behaviour (`cut=<n>`).
    pub cut: Option<usize>,
    /// Stall the stream after this many content events, on any behaviour (`stall_at=<n>`).
    pub stall_at: Option<usize>,
    /// Close a stalled stream after this long instead of waiting for the client
    /// (`close_ms=<ms>`).
    pub close: Option<Duration>,
    /// Faults strike only on hits up to this one (`faults=<k>`); `None`: always.
    pub faults: Option<u64>,
    /// Text replies depend on the hit number (`vary=1`).
    pub vary: bool,
}

/// Default of `n` for `tokens`.
pub(crate) const DEFAULT_TOKENS: usize = 16;
const DEFAULT_SLOW_MS: u64 = 2000;

impl Behaviour {
    /// Parses a model name. Never fails: anything unrecognised falls back to `echo` defaults.
    pub(crate) fn parse(model: &str) -> Behaviour {
        // `mock/stream-cut` and `models/echo` name the same behaviour as `stream-cut` / `echo`.
        let mut parts = model.split(';');
        let base = parts.next().unwrap_or_default();
        let base = base.rsplit('/').next().unwrap_or(base).trim();
        let opts: Vec<(&str, &str)> = parts
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                Some((k.trim(), v.trim()))
            })
            .collect();
        // The last numeric value of `key`: `n=4;n=abc` keeps 4.
        let opt = |key: &str| {
            opts.iter()
                .rev()
                .filter(|(k, _)| *k == key)
                .find_map(|(_, v)| v.parse::<u64>().ok())
        };
        let count = |key: &str| opt(key).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        let prefill = opts
            .iter()
            .rev()
            .filter(|(k, _)| *k == "prefill")
            .find_map(|(_, v)| Prefill::parse(v))
            .unwrap_or_default();

        let retry_after_secs = opt("retry_after").unwrap_or(1);
        let failure_for = |status: Option<u64>| match status {
            Some(503) => Failure::Unavailable,
            Some(400) => Failure::ContextLength,
            Some(429) => Failure::RateLimited { retry_after_secs },
            _ => Failure::Internal,
        };
        let (kind, default_after, slow_ttfb, slow_ttft) = match base {
            "tokens" => (Kind::Tokens, 0, false, false),
            "tool-call" => (Kind::ToolCall, 0, false, false),
            "parallel-tool-calls" => (Kind::ParallelToolCalls, 0, false, false),
            "fail-500" => (Kind::Fail(Failure::Internal), 0, false, false),
            "fail-503" => (Kind::Fail(Failure::Unavailable), 0, false, false),
            "fail-400-context" => (Kind::Fail(Failure::ContextLength), 0, false, false),
            "fail-429" => (
                Kind::Fail(Failure::RateLimited { retry_after_secs }),
                0,
                false,
                false,
            ),
            "fail-once" | "fail-500-then-ok" => (
                Kind::FailThenOk {
                    fails: 1,
                    failure: failure_for(opt("status")),
                },
                0,
                false,
                false,
            ),
            "fail-then-ok" => (
                Kind::FailThenOk {
                    fails: opt("fails").unwrap_or(1),
                    failure: failure_for(opt("status")),
                },
                0,
                false,
                false,
            ),
            "slow" => (Kind::Echo, 0, true, false),
            "slow-first-token" => (Kind::Echo, 0, false, true),
            "stream-cut" => (Kind::StreamCut, 3, false, false),
            "stall" => (Kind::Stall, 3, false, false),
            "malformed" => (Kind::Malformed, 2, false, false),
            "hang" => (Kind::Hang, 0, false, false),
            "hold-close" => (Kind::HoldClose, 0, true, false),
            _ => (Kind::Echo, 0, false, false),
        };
        let ms = |key: &str, default_on: bool| {
            let default = if default_on { DEFAULT_SLOW_MS } else { 0 };
            Duration::from_millis(opt(key).unwrap_or(default))
        };
        Behaviour {
            kind,
            delay: opt("delay").map(Duration::from_millis),
            split: opt("split")
                .filter(|n| *n > 0)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            n: count("n"),
            after: count("after").unwrap_or(default_after),
            ttfb: ms("ttfb_ms", slow_ttfb),
            ttft: ms("ttft_ms", slow_ttft),
            prefill,
            cut: count("cut"),
            stall_at: count("stall_at"),
            close: opt("close_ms").map(Duration::from_millis),
            faults: opt("faults"),
            vary: opt("vary").is_some_and(|v| v != 0),
        }
    }

    /// The fault this request's response suffers, given how many requests this exact model
    /// string has seen (including this one); `None`: it answers normally. `cut=` wins over
    /// `stall_at=`, which wins over the base behaviour's fault; `faults=<k>` spares hits
    /// after the k-th.
    pub(crate) fn strike(&self, hit: u64) -> Option<Strike> {
        if self.faults.is_some_and(|k| hit > k) {
            return None;
        }
        let stall = StrikeKind::Stall { close: self.close };
        let (kind, after) = match (self.cut, self.stall_at, self.kind) {
            (Some(n), _, _) => (StrikeKind::Cut, n),
            (None, Some(n), _) => (stall, n),
            (None, None, Kind::StreamCut) => (StrikeKind::Cut, self.after),
            (None, None, Kind::Stall) => (stall, self.after),
            (None, None, Kind::Malformed) => (StrikeKind::Malformed, self.after),
            (
                None,
                None,
                Kind::Echo
                | Kind::Tokens
                | Kind::ToolCall
                | Kind::ParallelToolCalls
                | Kind::Fail(_)
                | Kind::FailThenOk { .. }
                | Kind::Hang
                | Kind::HoldClose,
            ) => return None,
        };
        Some(Strike { kind, after })
    }

    /// The failure to answer with, given how many requests this exact model string has seen
    /// (including this one); `None` means answer normally.
    pub(crate) fn failure(&self, hit: u64) -> Option<Failure> {
        match self.kind {
            Kind::Fail(f) => Some(f),
            Kind::FailThenOk { fails, failure } => (hit <= fails).then_some(failure),
            Kind::Echo
            | Kind::Tokens
            | Kind::ToolCall
            | Kind::ParallelToolCalls
            | Kind::StreamCut
            | Kind::Stall
            | Kind::Malformed
            | Kind::Hang
            | Kind::HoldClose => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_echo_with_defaults() {
        for name in ["gpt-4o", "claude-sonnet-4", "", "mock/whatever;x=y"] {
            let b = Behaviour::parse(name);
            assert_eq!(b.kind, Kind::Echo, "{name}");
            assert_eq!(b.delay, None);
            assert_eq!(b.split, None);
            assert_eq!(b.ttfb, Duration::ZERO);
            assert_eq!(b.ttft, Duration::ZERO);
        }
    }

    #[test]
    fn options_are_parsed_and_bad_ones_ignored() {
        let b = Behaviour::parse("echo;delay=20;split=7;bogus;n=abc;id=9");
        assert_eq!(b.kind, Kind::Echo);
        assert_eq!(b.delay, Some(Duration::from_millis(20)));
        assert_eq!(b.split, Some(7));
        assert_eq!(b.n, None);
        assert_eq!(Behaviour::parse("echo;split=0").split, None);
        assert_eq!(Behaviour::parse("tokens;n=4;n=5").n, Some(5));
    }

    #[test]
    fn stream_faults_have_their_default_after() {
        assert_eq!(Behaviour::parse("stream-cut").after, 3);
        assert_eq!(Behaviour::parse("stream-cut;after=5").after, 5);
        assert_eq!(Behaviour::parse("stall").kind, Kind::Stall);
        assert_eq!(Behaviour::parse("malformed").after, 2);
        assert_eq!(Behaviour::parse("mock/hang").kind, Kind::Hang);
    }

    #[test]
    fn slow_variants_set_their_waits() {
        assert_eq!(Behaviour::parse("slow").ttfb, Duration::from_secs(2));
        assert_eq!(
            Behaviour::parse("slow;ttfb_ms=50").ttfb,
            Duration::from_millis(50)
        );
        let b = Behaviour::parse("slow-first-token;ttft_ms=30");
        assert_eq!((b.kind, b.ttft), (Kind::Echo, Duration::from_millis(30)));
        assert_eq!(Behaviour::parse("slow-first-token").ttfb, Duration::ZERO);
    }

    #[test]
    fn failures_and_their_sequences() {
        assert_eq!(
            Behaviour::parse("fail-429").failure(1),
            Some(Failure::RateLimited {
                retry_after_secs: 1
            })
        );
        assert_eq!(
            Behaviour::parse("fail-429;retry_after=7").failure(9),
            Some(Failure::RateLimited {
                retry_after_secs: 7
            })
        );
        assert_eq!(
            Behaviour::parse("fail-503").failure(1),
            Some(Failure::Unavailable)
        );
        assert_eq!(
            Behaviour::parse("fail-400-context").failure(1),
            Some(Failure::ContextLength)
        );
        let once = Behaviour::parse("fail-once");
        assert_eq!(once.failure(1), Some(Failure::Internal));
        assert_eq!(once.failure(2), None);
        let three = Behaviour::parse("fail-then-ok;fails=3;status=503");
        assert_eq!(three.failure(3), Some(Failure::Unavailable));
        assert_eq!(three.failure(4), None);
        assert_eq!(Behaviour::parse("echo").failure(1), None);
    }

    #[test]
    fn prefill_modes_take_words_and_numbers_stay_numbers() {
        assert_eq!(Behaviour::parse("echo").prefill, Prefill::Continue);
        assert_eq!(
            Behaviour::parse("echo;prefill=refuse").prefill,
            Prefill::Refuse
        );
        let b = Behaviour::parse("tokens;prefill=ignore;n=3");
        assert_eq!((b.prefill, b.n), (Prefill::Ignore, Some(3)));
        assert_eq!(
            Behaviour::parse("echo;prefill=refuse;prefill=bogus").prefill,
            Prefill::Refuse,
            "an unknown value is ignored"
        );
        assert_eq!(
            Behaviour::parse("echo;prefill=refuse;prefill = continue").prefill,
            Prefill::Continue
        );
        assert_eq!(Behaviour::parse("echo;n=4;n=abc").n, Some(4));
    }

    #[test]
    fn base_faults_strike_on_every_hit_by_default() {
        let cut = Behaviour::parse("stream-cut;after=5");
        let strike = Strike {
            kind: StrikeKind::Cut,
            after: 5,
        };
        assert_eq!(cut.strike(1), Some(strike));
        assert_eq!(cut.strike(99), Some(strike));
        assert_eq!(
            Behaviour::parse("malformed").strike(1),
            Some(Strike {
                kind: StrikeKind::Malformed,
                after: 2
            })
        );
        assert_eq!(
            Behaviour::parse("stall").strike(1),
            Some(Strike {
                kind: StrikeKind::Stall { close: None },
                after: 3
            })
        );
        for name in ["echo", "tokens", "tool-call", "fail-once", "hang"] {
            assert_eq!(Behaviour::parse(name).strike(1), None, "{name}");
        }
    }

    #[test]
    fn faults_k_spares_later_hits() {
        let b = Behaviour::parse("stream-cut;faults=2");
        assert!(b.strike(1).is_some());
        assert!(b.strike(2).is_some());
        assert_eq!(b.strike(3), None);
        let once = Behaviour::parse("tool-call;cut=1;faults=1");
        assert!(once.strike(1).is_some());
        assert_eq!(once.strike(2), None);
        assert_eq!(Behaviour::parse("malformed;faults=0").strike(1), None);
    }

    #[test]
    fn cut_and_stall_at_work_on_any_behaviour() {
        assert_eq!(
            Behaviour::parse("tool-call;cut=1").strike(1),
            Some(Strike {
                kind: StrikeKind::Cut,
                after: 1
            })
        );
        assert_eq!(
            Behaviour::parse("tokens;stall_at=4;close_ms=250").strike(1),
            Some(Strike {
                kind: StrikeKind::Stall {
                    close: Some(Duration::from_millis(250))
                },
                after: 4
            })
        );
        assert_eq!(
            Behaviour::parse("stall;after=2;close_ms=10").strike(1),
            Some(Strike {
                kind: StrikeKind::Stall {
                    close: Some(Duration::from_millis(10))
                },
                after: 2
            })
        );
        // cut= wins over stall_at=, which wins over the base behaviour's fault.
        let both = Behaviour::parse("stall_at=1;cut=3");
        assert_eq!(
            both.strike(1).map(|s| (s.kind, s.after)),
            Some((StrikeKind::Cut, 3))
        );
        let over = Behaviour::parse("malformed;stall_at=6");
        assert_eq!(over.strike(1).map(|s| s.after), Some(6));
    }

    #[test]
    fn vary_is_a_flag() {
        assert!(!Behaviour::parse("tokens").vary);
        assert!(Behaviour::parse("tokens;vary=1").vary);
        assert!(!Behaviour::parse("tokens;vary=0").vary);
    }
}
