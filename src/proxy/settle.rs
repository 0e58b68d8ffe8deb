//! What an LLM call held against budgets and rate limits becomes what it used: settled just
//! before the answer's last write ([`Settling`], so a client's next request already sees it),
//! or when the request is recorded if the answer never got that far ([`settle`]). A served
//! answer of a conversation (`x-gateway-conversation-id`) sticks it to its model at the same
//! moment, so the conversation's next turn already goes there.

use bytes::Bytes;

use crate::ctx::{RequestCtx, Trace};
use crate::downstream::{ClientGone, Downstream, Head};
use crate::limits::Admission;
use crate::routing::RouteStats;
use crate::tenancy::Tenancy;
use crate::tenancy::budget::Reservation;

/// Settles a request's budget hold to its cost and gives its rate limits back: slots freed,
/// tokens settled to the usage (none when nothing was served; the reservation when the usage
/// is unknown).
pub fn settle(
    tenancy: &Tenancy,
    trace: &Trace,
    served: bool,
    reservation: Option<Reservation>,
    admission: Option<Admission>,
) {
    if let Some(reservation) = reservation {
        tenancy.settle(reservation, trace.cost_usd);
    }
    if let Some(admission) = admission {
        let used = match trace.usage {
            Some(u) => Some(u.input_tokens + u.output_tokens),
            None if !served => Some(0),
            None => None,
        };
        admission.finish(used);
    }
}

/// A client connection that settles the request's holds when its answer ends.
pub struct Settling<'d, D> {
    inner: &'d mut D,
    tenancy: &'d Tenancy,
    reservation: Option<Reservation>,
    admission: Option<Admission>,
    sticky: Option<Sticky<'d>>,
}

/// Where a served conversation is remembered, and for how long.
pub struct Sticky<'d> {
    pub stats: &'d RouteStats,
    pub conversation: &'d str,
    pub ttl: std::time::Duration,
}

impl<'d, D: Downstream> Settling<'d, D> {
    /// Takes the holds of `ctx` (given back by [`Settling::restore`] when not settled).
    pub fn new(inner: &'d mut D, tenancy: &'d Tenancy, ctx: &mut RequestCtx) -> Self {
        Settling {
            inner,
            tenancy,
            reservation: ctx.reservation.take(),
            admission: ctx.admission.take(),
            sticky: None,
        }
    }

    /// Also sticks the conversation to the model that serves it.
    pub fn sticking(mut self, sticky: Option<Sticky<'d>>) -> Self {
        self.sticky = sticky;
        self
    }

    /// Puts back into `ctx` what was not settled (the answer did not end normally).
    pub fn restore(self, ctx: &mut RequestCtx) {
        ctx.reservation = self.reservation;
        ctx.admission = self.admission;
    }
}

impl<D: Downstream> Downstream for Settling<'_, D> {
    async fn write_head(&mut self, head: Head, end: bool) -> Result<(), ClientGone> {
        self.inner.write_head(head, end).await
    }

    async fn write_body(&mut self, body: Bytes, end: bool) -> Result<(), ClientGone> {
        self.inner.write_body(body, end).await
    }

    fn ending(&mut self, trace: &Trace, served: bool) {
        let (reservation, admission) = (self.reservation.take(), self.admission.take());
        settle(self.tenancy, trace, served, reservation, admission);
        if served
            && let (Some(s), Some(provider), Some(model)) =
                (self.sticky.take(), &trace.provider, &trace.model)
        {
            let now = std::time::Instant::now();
            s.stats
                .stick(s.conversation, provider.clone(), model.clone(), now, s.ttl);
        }
        self.inner.ending(trace, served);
    }

    async fn gone(&mut self) {
        self.inner.gone().await;
    }
}
