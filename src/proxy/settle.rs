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
use crate::tenancy::shared_budget::Held;

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
    finish(trace, served, admission);
}

/// Gives a request's rate limits back.
fn finish(trace: &Trace, served: bool, admission: Option<Admission>) {
    if let Some(admission) = admission {
        let used = match trace.usage {
            Some(u) => Some(u.input_tokens + u.output_tokens),
            None if !served => Some(0),
            None => None,
        };
        admission.finish(used);
    }
}

/// A client connection that settles the request's holds when its answer ends. A hold in
/// Redis (shared budgets) is settled before the last write goes out and waited for, so the
/// client's next request sees it on whichever instance it reaches.
pub struct Settling<'d, D> {
    inner: &'d mut D,
    tenancy: &'d Tenancy,
    reservation: Option<Reservation>,
    admission: Option<Admission>,
    sticky: Option<Sticky<'d>>,
    /// A hold in Redis and the cost to settle it to, between `ending` and the last write.
    shared: Option<(Held, f64)>,
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
            shared: None,
        }
    }

    /// Also sticks the conversation to the model that serves it.
    pub fn sticking(mut self, sticky: Option<Sticky<'d>>) -> Self {
        self.sticky = sticky;
        self
    }

    /// Puts back into `ctx` what was not settled (the answer did not end normally).
    pub fn restore(mut self, ctx: &mut RequestCtx) {
        ctx.reservation = self.reservation.take();
        ctx.admission = self.admission.take();
    }

    /// Settles the hold in Redis, if `ending` left one, before a last write. (Boxed: the
    /// Redis call's state stays out of every write's future.)
    async fn settle_shared(&mut self, end: bool) {
        if end && let Some((held, actual)) = self.shared.take() {
            Box::pin(self.tenancy.settle_shared(&held, actual)).await;
        }
    }
}

impl<D> Drop for Settling<'_, D> {
    /// The answer ended without its last write: the hold in Redis is settled all the same.
    fn drop(&mut self) {
        if let Some((held, actual)) = self.shared.take() {
            self.tenancy.settle_held(&held, actual);
        }
    }
}

impl<D: Downstream> Downstream for Settling<'_, D> {
    async fn write_head(&mut self, head: Head, end: bool) -> Result<(), ClientGone> {
        self.settle_shared(end).await;
        self.inner.write_head(head, end).await
    }

    async fn write_body(&mut self, body: Bytes, end: bool) -> Result<(), ClientGone> {
        self.settle_shared(end).await;
        self.inner.write_body(body, end).await
    }

    fn ending(&mut self, trace: &Trace, served: bool) {
        let (reservation, admission) = (self.reservation.take(), self.admission.take());
        if let Some(reservation) = reservation
            && let Some(held) = self.tenancy.settle_here(reservation, trace.cost_usd)
        {
            self.shared = Some((held, trace.cost_usd));
        }
        finish(trace, served, admission);
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
