//! Admission control for recognition: a bounded pool of threads and a bounded waiting room.
//!
//! # Design
//! - **Tickets** bound how many calls are in the system: `threads + queue`. A call that finds
//!   no ticket is refused at once with `RESOURCE_EXHAUSTED` ([`Error::Exhausted`]) instead of
//!   waiting behind work it cannot see the end of. A ClassifyBatch takes one ticket, a stream
//!   one per item.
//! - **Slots** bound how much recognition runs at once: `threads`, the cores by default. CPU
//!   work (the encoder, HTML conversion) runs on tokio's blocking threads only while holding a
//!   slot, so the async threads stay free for health, Intake and the store, however many
//!   clients send long texts.
//! - **Deadlines and cancellation.** A call's deadline (from `grpc-timeout`) is set around its
//!   future with [`with_deadline`]. Work is skipped, not started, when the deadline has passed
//!   or the caller went away while it waited: the waiting future is dropped (tonic drops it on
//!   a client's cancel or timeout), and a flag set on drop is checked again on the blocking
//!   thread right before the work starts.
//!
//! The cost: a call waits in two places (ticket, then slot) and a batch holds its ticket for
//! all its messages; in exchange nothing here is unbounded.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

tokio::task_local! {
    /// The deadline of the call the current task serves, when it has one.
    static DEADLINE: Option<Instant>;
}

/// Run `fut` with `deadline` as the deadline of its recognition work.
pub async fn with_deadline<F: std::future::Future>(deadline: Option<Instant>, fut: F) -> F::Output {
    DEADLINE.scope(deadline, fut).await
}

/// The deadline of a gRPC call from its `grpc-timeout` metadata ("<digits><unit>", unit one of
/// H M S m u n), counted from `start`; `None` without one or when malformed.
pub fn grpc_deadline(metadata: &tonic::metadata::MetadataMap, start: Instant) -> Option<Instant> {
    let v = metadata.get("grpc-timeout")?.to_str().ok()?;
    if v.len() < 2 || v.len() > 9 {
        return None;
    }
    let (digits, unit) = v.split_at(v.len() - 1);
    let n: u64 = digits.parse().ok()?;
    let d = match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    };
    start.checked_add(d)
}

/// Counts of what admission did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionStats {
    /// Pieces of work that ran.
    pub ran: u64,
    /// Pieces of work skipped: deadline passed or caller gone before they started.
    pub skipped: u64,
    /// Calls refused for want of a ticket.
    pub refused: u64,
}

#[derive(Debug, Default)]
struct Counters {
    ran: AtomicU64,
    skipped: AtomicU64,
    refused: AtomicU64,
}

/// The pool. Cheap to clone; clones share it.
#[derive(Debug, Clone)]
pub struct Admission {
    tickets: Arc<Semaphore>,
    slots: Arc<Semaphore>,
    threads: usize,
    queue: usize,
    counters: Arc<Counters>,
}

/// A call's place in the system; dropping it frees the place.
#[derive(Debug)]
pub struct Ticket {
    _permit: OwnedSemaphorePermit,
}

impl Admission {
    /// `threads` pieces of work at once, `queue` more calls waiting.
    pub fn new(threads: usize, queue: usize) -> Admission {
        let threads = threads.max(1);
        Admission {
            tickets: Arc::new(Semaphore::new(threads + queue)),
            slots: Arc::new(Semaphore::new(threads)),
            threads,
            queue,
            counters: Arc::default(),
        }
    }

    /// A ticket for one call, or [`Error::Exhausted`] at once when the system is full.
    pub fn admit(&self) -> Result<Ticket> {
        match self.tickets.clone().try_acquire_owned() {
            Ok(permit) => Ok(Ticket { _permit: permit }),
            Err(_) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                Err(Error::Exhausted(format!(
                    "the classifier is busy: {} messages are being recognised and {} calls wait (recognition_threads, recognition_queue); retry later",
                    self.threads, self.queue
                )))
            }
        }
    }

    /// Run CPU work on a blocking thread once a slot is free, unless the call's deadline
    /// passes or the caller goes away first.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let deadline = DEADLINE.try_with(|d| *d).ok().flatten();
        let expired = |counters: &Counters| {
            counters.skipped.fetch_add(1, Ordering::Relaxed);
            Err(Error::DeadlineExceeded(
                "the call's deadline passed before its message could be recognised".into(),
            ))
        };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return expired(&self.counters);
        }
        let slot = match deadline {
            Some(d) => {
                match tokio::time::timeout_at(d.into(), self.slots.clone().acquire_owned()).await {
                    Ok(s) => s,
                    Err(_) => return expired(&self.counters),
                }
            }
            None => self.slots.clone().acquire_owned().await,
        }
        .map_err(|_| Error::Internal("the recognition pool is closed".into()))?;
        // Set when this future is dropped (caller gone, or tonic's own timeout), checked on
        // the blocking thread before the work starts.
        let abandoned = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(abandoned.clone());
        let counters = self.counters.clone();
        let handle = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            if abandoned.load(Ordering::Acquire) || deadline.is_some_and(|d| Instant::now() >= d) {
                counters.skipped.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            counters.ran.fetch_add(1, Ordering::Relaxed);
            Some(work())
        });
        let out = handle
            .await
            .map_err(|e| Error::Internal(format!("recognition task failed: {e}")))?;
        guard.disarm();
        out.ok_or_else(|| {
            Error::DeadlineExceeded(
                "the call's deadline passed before its message could be recognised".into(),
            )
        })
    }

    /// What admission did so far.
    pub fn stats(&self) -> AdmissionStats {
        AdmissionStats {
            ran: self.counters.ran.load(Ordering::Relaxed),
            skipped: self.counters.skipped.load(Ordering::Relaxed),
            refused: self.counters.refused.load(Ordering::Relaxed),
        }
    }
}

struct SetOnDrop(Arc<AtomicBool>);

impl SetOnDrop {
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Run CPU work through `admission` when there is one, else on a blocking thread directly
/// (one CLI run, where nothing competes).
pub async fn run_blocking<T, F>(admission: Option<&Admission>, work: F) -> Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match admission {
        Some(a) => a.run(work).await,
        None => tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Internal(format!("recognition task failed: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_means_refused_at_once_and_a_ticket_frees_its_place() {
        let a = Admission::new(1, 1);
        let t1 = a.admit().unwrap();
        let _t2 = a.admit().unwrap();
        assert!(matches!(a.admit(), Err(Error::Exhausted(_))));
        drop(t1);
        assert!(a.admit().is_ok());
        assert_eq!(a.stats().refused, 1);
    }

    #[tokio::test]
    async fn no_work_for_a_call_whose_deadline_passed() {
        let a = Admission::new(1, 0);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let past = Instant::now() - Duration::from_millis(1);
        let out = with_deadline(Some(past), a.run(move || r.store(true, Ordering::SeqCst))).await;
        assert!(matches!(out, Err(Error::DeadlineExceeded(_))));
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(
            a.stats(),
            AdmissionStats {
                ran: 0,
                skipped: 1,
                refused: 0
            }
        );
    }

    #[tokio::test]
    async fn no_work_for_a_call_cancelled_while_it_waited() {
        let a = Admission::new(1, 4);
        // Hold the only slot, so the next piece of work has to wait.
        let held = a.slots.clone().acquire_owned().await.unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let mut waiting = Box::pin(a.run(move || r.store(true, Ordering::SeqCst)));
        let polled = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(waiting.as_mut(), cx))
        })
        .await;
        assert!(polled.is_pending(), "it waits for the slot");
        drop(waiting); // the caller went away
        drop(held);
        assert_eq!(a.run(|| 7).await.unwrap(), 7);
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(a.stats().ran, 1);
    }

    #[test]
    fn grpc_timeout_units() {
        let now = Instant::now();
        let mut m = tonic::metadata::MetadataMap::new();
        assert_eq!(grpc_deadline(&m, now), None);
        m.insert("grpc-timeout", "250m".parse().unwrap());
        assert_eq!(
            grpc_deadline(&m, now),
            Some(now + Duration::from_millis(250))
        );
        m.insert("grpc-timeout", "2S".parse().unwrap());
        assert_eq!(grpc_deadline(&m, now), Some(now + Duration::from_secs(2)));
        m.insert("grpc-timeout", "x".parse().unwrap());
        assert_eq!(grpc_deadline(&m, now), None);
    }
}
