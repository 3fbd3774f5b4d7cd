//! Waiting for a booking's status to change: `GET /api/bookings/{id}?waitMs=N` answers as soon
//! as the booking leaves PENDING (or after N ms) instead of making clients poll.
//!
//! ```text
//!   GET ?waitMs ──> watch(id) ──> read ── PENDING ──> wait: notified | deadline ──> read FOR SHARE ─┐
//!                                  └── other ──> answer                     ^                      │
//!   Transitions::set_status (inside the tx, row locked FOR UPDATE) ── changed(id) ─┘   PENDING: wait again
//! ```
//!
//! The signal comes before the commit; the waiter's `FOR SHARE` read blocks on the writer's row
//! lock until that transaction ends, so it reads the committed status (or, after a rollback,
//! PENDING again and waits on). Only waiters of that one booking wake: no herd.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use uuid::Uuid;

/// The bookings someone waits on. Cheap to clone.
#[derive(Clone, Default)]
pub struct StatusWatchers {
    inner: Arc<Mutex<HashMap<Uuid, Arc<Notify>>>>,
}

impl StatusWatchers {
    /// Registers interest in `booking`; the registration ends when the guard drops.
    pub fn watch(&self, booking: Uuid) -> Watch {
        let notify = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(booking)
            .or_default()
            .clone();
        Watch {
            watchers: self.clone(),
            booking,
            notify,
        }
    }

    /// `booking`'s status is changing: wakes whoever waits on it.
    pub fn changed(&self, booking: Uuid) {
        let notify = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&booking)
            .cloned();
        if let Some(notify) = notify {
            notify.notify_waiters();
        }
    }

    /// How many bookings are waited on (tests).
    pub fn watched(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One waiter's registration.
pub struct Watch {
    watchers: StatusWatchers,
    booking: Uuid,
    notify: Arc<Notify>,
}

impl Watch {
    /// The signal to await; call `enable()` on it before reading the status so a change between
    /// the read and the wait is not missed.
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut map = self
            .watchers
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Two holders left (the map and this guard): this was the last waiter.
        if Arc::strong_count(&self.notify) == 2 {
            map.remove(&self.booking);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_change_wakes_the_waiter_of_that_booking_only() {
        let watchers = StatusWatchers::default();
        let (mine, other) = (Uuid::new_v4(), Uuid::new_v4());
        let watch = watchers.watch(mine);
        let other_watch = watchers.watch(other);
        let notified = watch.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let other_notified = other_watch.notified();
        tokio::pin!(other_notified);
        other_notified.as_mut().enable();
        watchers.changed(mine);
        tokio::time::timeout(Duration::from_secs(1), notified)
            .await
            .expect("woken");
        assert!(
            tokio::time::timeout(Duration::from_millis(20), other_notified)
                .await
                .is_err()
        );
    }

    #[test]
    fn the_registration_ends_with_its_last_waiter() {
        let watchers = StatusWatchers::default();
        let id = Uuid::new_v4();
        let first = watchers.watch(id);
        let second = watchers.watch(id);
        drop(first);
        assert_eq!(watchers.watched(), 1);
        drop(second);
        assert_eq!(watchers.watched(), 0);
        watchers.changed(id); // nobody waits: nothing happens
    }
}
