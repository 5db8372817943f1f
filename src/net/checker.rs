//! The password worker: one thread that runs argon2 verifications for the core
//! (`core::checks`), so a crowd of logins never stalls the loop. Requests go through a
//! bounded channel; verdicts come back through another, and the loop's [`Waker`] tells the
//! loop they are there. When the queue is full the request is not queued: its verdict is
//! [`Verdict::Busy`] at once (the core bounds what it asks for, so this is a safety net).

use crate::core::checks::{CheckRequest, Verdict, MAX_IN_FLIGHT};
use mio::Waker;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

pub struct Checker {
    requests: Option<SyncSender<CheckRequest>>,
    verdicts: Receiver<(u64, Verdict)>,
    thread: Option<JoinHandle<()>>,
}

impl Checker {
    /// Starts the worker; it wakes the loop through `waker` after each verdict.
    pub fn start(waker: Arc<Waker>) -> std::io::Result<Checker> {
        let (req_tx, req_rx) = mpsc::sync_channel::<CheckRequest>(MAX_IN_FLIGHT);
        let (done_tx, done_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("portico-passwords".into())
            .spawn(move || {
                // Ends when the loop drops its sender.
                for req in req_rx {
                    let verdict = match crate::config::verify_hash(&req.hash, &req.password) {
                        true => Verdict::Match,
                        false => Verdict::Mismatch,
                    };
                    if done_tx.send((req.ticket, verdict)).is_err() {
                        break;
                    }
                    let _ = waker.wake();
                }
            })?;
        Ok(Checker {
            requests: Some(req_tx),
            verdicts: done_rx,
            thread: Some(thread),
        })
    }

    /// Queues a check; the ticket back with [`Verdict::Busy`] if it cannot be.
    pub fn submit(&self, req: CheckRequest) -> Option<(u64, Verdict)> {
        let tx = self.requests.as_ref()?;
        match tx.try_send(req) {
            Ok(()) => None,
            Err(TrySendError::Full(req) | TrySendError::Disconnected(req)) => {
                Some((req.ticket, Verdict::Busy))
            }
        }
    }

    /// Verdicts ready now (never blocks).
    pub fn ready(&self) -> Vec<(u64, Verdict)> {
        self.verdicts.try_iter().collect()
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        // Closing the channel ends the worker after the check it is running.
        self.requests = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
