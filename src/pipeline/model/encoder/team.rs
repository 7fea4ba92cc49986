//! A small team of threads for one message's forward pass: the calling thread and up to
//! `n − 1` partners. Whoever waits spins up to 100 µs first (a hand-over between
//! busy threads then costs about a microsecond), then parks until woken, so that a busy
//! machine is not made busier by threads spinning against the ones doing the work.
//!
//! Why not rayon: splitting each of the 48 linear maps over rayon's pool made about 730
//! context switches per message (the caller is not one of the pool's threads, so it sleeps
//! while both halves run) and 15 % more CPU than one thread. The team lives only as long as
//! the message (scoped threads): partners spin while the caller works and give the core back
//! (yield) after a short while without a job, so a second message arriving meanwhile is not
//! starved; under load the encoder gives each message one thread and no team at all.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use anyhow::{anyhow, Result};
use tch::Tensor;

/// A job for a partner: owns its inputs (tensors are reference-counted views) and borrows
/// only what outlives the team (the weights).
pub type Job<'w> = Box<dyn FnOnce() -> Result<Tensor> + Send + 'w>;

const IDLE: u8 = 0;
const POSTED: u8 = 1;
const DONE: u8 = 2;
const STOP: u8 = 3;

// How long a waiting thread spins before it parks: longer than a typical wait between the
// two halves of a layer (their imbalance), so that a hand-over rarely needs a wake-up (tens
// of microseconds on a virtual machine), and short enough that a parked partner gives its
// core back soon. Measured on the 2-core machine: 200 spins (about 10 µs) against 100 µs
// made a lone 47-token message 8.5 against 7.9 ms, a 256-token one 33 against 32.5 ms.
const SPIN_FOR: std::time::Duration = std::time::Duration::from_micros(100);

struct Slot<'w> {
    state: AtomicU8,
    // The partner's thread, to wake it when a job is posted.
    partner: std::sync::OnceLock<std::thread::Thread>,
    job: Mutex<Option<Job<'w>>>,
    out: Mutex<Option<Result<Tensor>>>,
}

impl<'w> Slot<'w> {
    fn new() -> Slot<'w> {
        Slot {
            state: AtomicU8::new(IDLE),
            partner: std::sync::OnceLock::new(),
            job: Mutex::new(None),
            out: Mutex::new(None),
        }
    }

    fn wait_for(&self, wanted: impl Fn(u8) -> bool) -> u8 {
        let start = std::time::Instant::now();
        let mut spins = 0u32;
        loop {
            let s = self.state.load(Ordering::SeqCst);
            if wanted(s) {
                return s;
            }
            spins = spins.wrapping_add(1);
            // The clock is read every 64 spins (a read costs about as much as a few spins).
            if !spins.is_multiple_of(64) || start.elapsed() < SPIN_FOR {
                std::hint::spin_loop();
            } else {
                // Woken by whoever changes the state; the timeout only guards against a
                // wake-up sent before this thread was known.
                std::thread::park_timeout(std::time::Duration::from_millis(1));
            }
        }
    }

    fn set(&self, state: u8, wake: Option<&std::thread::Thread>) {
        self.state.store(state, Ordering::SeqCst);
        if let Some(t) = wake {
            t.unpark();
        }
    }

    /// The partner's loop: run posted jobs until told to stop.
    fn serve(&self, caller: &std::thread::Thread) {
        let _ = self.partner.set(std::thread::current());
        let _no_grad = tch::no_grad_guard();
        tch::set_num_threads(1);
        while self.wait_for(|s| s == POSTED || s == STOP) == POSTED {
            let job = lock(&self.job).take().expect("a posted job");
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                .unwrap_or_else(|_| Err(anyhow!("a forward-pass job panicked")));
            *lock(&self.out) = Some(out);
            self.set(DONE, Some(caller));
        }
    }
}

/// A mutex's contents; a job that panicked while holding it left nothing half-written
/// (results are whole values), so a poisoned lock is used as it is.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The calling thread and its partners.
pub struct Team<'w> {
    slots: Vec<Slot<'w>>,
}

impl<'w> Team<'w> {
    /// Run `mine` here and `theirs[i]` on partner `i` (at most one job per partner), and
    /// return the results in order: `mine`'s first.
    pub fn run(
        &self,
        mine: impl FnOnce() -> Result<Tensor>,
        theirs: Vec<Job<'w>>,
    ) -> Result<Vec<Tensor>> {
        assert!(theirs.len() <= self.slots.len(), "more jobs than partners");
        let posted = theirs.len();
        for (slot, job) in self.slots.iter().zip(theirs) {
            *lock(&slot.job) = Some(job);
            slot.set(POSTED, slot.partner.get());
        }
        let first = mine();
        let mut outs = Vec::with_capacity(posted + 1);
        let mut failed = first.as_ref().err().map(|e| anyhow!("{e:#}"));
        if let Ok(t) = first {
            outs.push(t);
        }
        // Every posted job is waited for, also when this thread's part failed: its inputs
        // and the weights it reads must outlive it.
        for slot in &self.slots[..posted] {
            slot.wait_for(|s| s == DONE);
            let out = lock(&slot.out).take().expect("a finished job's result");
            slot.set(IDLE, None);
            match out {
                Ok(t) => outs.push(t),
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(outs),
        }
    }
}

/// Run `f` with a team of `threads` threads (the caller and `threads − 1` scoped partners);
/// with one thread, `f` gets a team without partners and nothing is spawned.
pub fn with_team<'w, R>(threads: usize, f: impl FnOnce(&Team<'w>) -> R) -> R {
    let team = Team {
        slots: (1..threads.max(1)).map(|_| Slot::new()).collect(),
    };
    if team.slots.is_empty() {
        return f(&team);
    }
    let caller = std::thread::current();
    std::thread::scope(|s| {
        for slot in &team.slots {
            let caller = &caller;
            s.spawn(move || slot.serve(caller));
        }
        struct Stop<'a, 'w>(&'a Team<'w>);
        impl Drop for Stop<'_, '_> {
            fn drop(&mut self) {
                for slot in &self.0.slots {
                    slot.set(STOP, slot.partner.get());
                }
            }
        }
        let _stop = Stop(&team);
        f(&team)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_on_partners_and_results_come_back_in_order() {
        for threads in [1, 2, 3] {
            let base = Tensor::from_slice(&[1f32, 2.0, 3.0]);
            let got = with_team(threads, |team| {
                let jobs: Vec<Job> = (1..threads)
                    .map(|i| {
                        let b = base.shallow_clone();
                        Box::new(move || Ok(&b * (i as f64 + 1.0))) as Job
                    })
                    .collect();
                team.run(|| Ok(base.shallow_clone()), jobs)
            })
            .unwrap();
            assert_eq!(got.len(), threads);
            for (i, t) in got.iter().enumerate() {
                let v: Vec<f32> = Vec::try_from(t).unwrap();
                assert_eq!(v, [1.0, 2.0, 3.0].map(|x| x * (i as f32 + 1.0)));
            }
        }
    }

    #[test]
    fn a_failing_or_panicking_job_is_an_error_and_the_team_still_ends() {
        let r = with_team(2, |team| {
            team.run(
                || Ok(Tensor::from_slice(&[1f32])),
                vec![Box::new(|| -> Result<Tensor> { panic!("boom") }) as Job],
            )
        });
        assert!(r.unwrap_err().to_string().contains("panicked"));
        let r = with_team(2, |team| {
            team.run(
                || Err(anyhow!("mine failed")),
                vec![Box::new(|| Ok(Tensor::from_slice(&[1f32]))) as Job],
            )
        });
        assert!(r.unwrap_err().to_string().contains("mine failed"));
    }
}
