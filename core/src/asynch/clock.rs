//! The clock the driver reads and sleeps on.

/// Milliseconds and a way to sleep until one: what [`Driver`](super::Driver) needs of a
/// timer. `EmbassyClock` (feature `embassy-time`) is one; on a host, a few lines over the
/// runtime's timer are another:
///
/// ```
/// use ferrule::asynch::Clock;
///
/// /// tokio's clock, counted from when this value was made.
/// struct TokioClock(tokio::time::Instant);
///
/// impl Clock for TokioClock {
///     fn now_ms(&self) -> u64 {
///         self.0.elapsed().as_millis() as u64
///     }
///     async fn sleep_until(&self, deadline_ms: u64) {
///         let at = self.0 + std::time::Duration::from_millis(deadline_ms);
///         tokio::time::sleep_until(at).await
///     }
/// }
/// ```
#[allow(async_fn_in_trait)] // the driver polls it in place; it need not be `Send`
pub trait Clock {
    /// Milliseconds since a fixed point (boot, or when the clock was made). Never goes
    /// backwards.
    fn now_ms(&self) -> u64;

    /// Completes once [`Self::now_ms`] has reached `deadline_ms` (at once if it has). The
    /// driver drops this future whenever something else needs it first, so dropping it must
    /// be harmless.
    async fn sleep_until(&self, deadline_ms: u64);
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }

    async fn sleep_until(&self, deadline_ms: u64) {
        (**self).sleep_until(deadline_ms).await
    }
}

/// `embassy-time`'s clock (feature `embassy-time`): [`embassy_time::Instant`] in
/// milliseconds, [`embassy_time::Timer::at`] to sleep. The firmware links a time driver, as
/// with any use of `embassy-time`.
#[cfg(feature = "embassy-time")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EmbassyClock;

#[cfg(feature = "embassy-time")]
impl Clock for EmbassyClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        embassy_time::Instant::now().as_millis()
    }

    #[inline]
    async fn sleep_until(&self, deadline_ms: u64) {
        // Rounded up, so that `now_ms` has reached the deadline when the timer fires; far
        // deadlines saturate instead of overflowing the tick count.
        let ticks = deadline_ms
            .saturating_mul(embassy_time::TICK_HZ)
            .div_ceil(1000);
        let at = embassy_time::Instant::from_ticks(ticks);
        embassy_time::Timer::at(at).await
    }
}
