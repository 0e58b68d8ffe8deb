//! Mid-stream rescue (S5+): a stream that broke after text reached the client is continued by
//! the next attempt instead of ending with an error event. The walk keeps a [`Rescue`] while
//! the client's stream is open: the text the client has, where its stream stands, and the
//! usage of the attempts so far. Each continuation attempt either gives the provider that text
//! as a trailing assistant message to continue ("prefill", when the provider supports it and
//! has not refused it) or asks for the answer again and drops what the client has
//! ("regenerate"); the relay of [`crate::translate::continuation_relay`] splices the new stream
//! onto the client's. When nothing can continue it, the stream ends with an error event in the
//! client's format, as an unrescued stream does.
//!
//! Bounded: `[resilience.stream_rescue] max_continuations` per request; off per request with
//! `x-gateway-stream-rescue: off`; text only (a stream that broke in a tool call or thinking is
//! not continued).

use std::sync::Arc;

use bytes::Bytes;
use tokio::time::Instant;

use super::Walk;
use super::admit::Prepared;
use super::outcome::Cut;
use crate::config::ApiFormat;
use crate::downstream::Downstream;
use crate::errors::{Failure, GatewayError};
use crate::inbound::Call;
use crate::runtime::provider::Operation;
use crate::translate::ir::{ErrorInfo, Usage};
use crate::translate::{Codec, RescuePoint, Splice};
use crate::upstream::Upstream;

/// A client stream that broke mid-answer and is being continued.
#[derive(Debug)]
pub(super) struct Rescue {
    /// The text the client has and where its stream stands.
    pub point: RescuePoint,
    /// Continuations begun.
    pub count: u32,
    /// Usage of the attempts that streamed to the client so far.
    pub usage: Usage,
    /// Candidates (by index) that refused a prefill: they regenerate instead.
    pub refused: Vec<usize>,
    /// How the attempt being made continues the stream (set when it is prepared).
    pub splice: Option<Splice>,
    /// The attempt being made carries a prefill.
    pub prefilled: bool,
    /// What broke the stream last.
    pub cause: String,
    /// The provider whose stream broke last, until a continuation attempt is sent (then the
    /// continuation is counted).
    pub uncounted: Option<Arc<str>>,
}

/// Whether a request's stream may be continued if it breaks: rescue is on (config and
/// request), the client speaks a chat format whose streams the gateway can carry on, and it
/// asked for one answer (several choices, `n > 1`, are not continued as one).
pub(super) fn eligible(max_continuations: u32, requested: bool, call: &Call) -> bool {
    // `n` is looked up last: only streams that may be continued pay for it.
    let one_choice = || {
        call.raw
            .get("n")
            .and_then(|n| n.trim().parse::<u64>().ok())
            .is_none_or(|n| n <= 1)
    };
    max_continuations > 0
        && requested
        && call.summary.stream
        && call.endpoint.op == Operation::ChatCompletions
        && matches!(
            call.endpoint.format,
            ApiFormat::Openai | ApiFormat::Anthropic
        )
        && one_choice()
}

impl<U: Upstream, D: Downstream> Walk<'_, U, D> {
    /// Whether one more continuation is allowed now.
    pub(super) fn may_continue(&self) -> bool {
        let done = self.rescue.as_ref().map_or(0, |r| r.count);
        self.settings.rescue
            && done < self.settings.max_continuations
            && Instant::now() < self.settings.deadline
    }

    /// Takes a cut stream over: the walk continues it from now on. `provider`: whose stream
    /// broke.
    pub(super) fn begin_continuation(&mut self, cut: Cut, provider: Arc<str>) {
        let rescue = self.rescue.get_or_insert_with(|| {
            Box::new(Rescue {
                point: cut.point.clone(),
                count: 0,
                usage: Usage::default(),
                refused: Vec::new(),
                splice: None,
                prefilled: false,
                cause: String::new(),
                uncounted: None,
            })
        });
        rescue.count += 1;
        rescue.point = cut.point;
        rescue.usage = rescue.usage.plus(cut.usage);
        rescue.cause = cut.message;
        rescue.uncounted = Some(provider);
    }

    /// Candidate `index`'s request for the next continuation: a prefill when its provider
    /// continues one and has not refused it, else the original request (regenerated, the
    /// client's text dropped from the answer).
    pub(super) fn prepare_continuation(&mut self, index: usize) -> Result<Prepared, GatewayError> {
        let candidates = self.candidates;
        let cand = &candidates[index];
        let Some(rescue) = self.rescue.as_deref_mut() else {
            return self.prepare(index, true);
        };
        if let Some(provider) = rescue.uncounted.take() {
            // The first attempt of this continuation: it is counted now that one is sent.
            self.gw.metrics.continuation(&provider);
            self.trace.continuations += 1;
        }
        let text = rescue.point.text.clone();
        // Providers refuse a prefill that ends in whitespace: it is left out, and dropped
        // from the continuation if it repeats it.
        let kept = text.trim_end();
        let prefill =
            cand.provider.supports_prefill && !rescue.refused.contains(&index) && !kept.is_empty();
        if prefill {
            rescue.splice = Some(Splice::prefill(&text[kept.len()..], rescue.usage));
        } else {
            rescue.splice = Some(Splice::regenerate(&text, rescue.usage));
        }
        rescue.prefilled = prefill;
        let prefill_text = prefill.then(|| kept.to_string());
        self.prepare_with(index, true, prefill_text.as_deref())
    }

    /// A continuation attempt failed with `status`: a prefill refused (400) is not sent to
    /// that candidate again. Returns whether it was such a refusal.
    pub(super) fn prefill_refused(&mut self, index: usize, status: u16) -> bool {
        match self.rescue.as_deref_mut() {
            Some(r) if r.prefilled && status == 400 && !r.refused.contains(&index) => {
                r.refused.push(index);
                true
            }
            _ => false,
        }
    }

    /// Nothing could continue the client's stream: it ends with an error event in its format.
    pub(super) async fn end_rescue(&mut self, last: &str) -> Result<(), Failure> {
        let Some(rescue) = self.rescue.take() else {
            return Ok(());
        };
        let error = ErrorInfo {
            status: 502,
            message: format!(
                "the stream broke mid-answer ({}) and could not be continued: {last}",
                rescue.cause
            ),
            code: Some("upstream_stream_error".into()),
        };
        let mut out = Vec::new();
        if let Some(mut encoder) =
            Codec(self.call.endpoint.format).resumed_encoder(&rescue.point.resume)
        {
            encoder.fail(&error, &mut out);
        }
        self.trace.error = Some("stream_rescue_failed");
        self.down
            .write_body(Bytes::from(out), true)
            .await
            .map_err(|_| Failure::ClientGone)
    }
}

/// A short description of a failure that ended a walk, for the error event.
pub(super) fn describe(failure: &Failure) -> String {
    match failure {
        Failure::Respond(e) => e.message.clone(),
        Failure::CircuitOpen { .. } => "every remaining provider's circuit is open".into(),
        Failure::ClientGone => "the client went away".into(),
    }
}
