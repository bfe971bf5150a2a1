//! The one long-lived thread a worker runs its models on.
//!
//! glibc's malloc gives each thread an arena of its own, and ONNX Runtime
//! and MLAS keep per-thread scratch buffers. Run on tokio's blocking pool,
//! inference moved to a new thread whenever the old one had idled out (ten
//! seconds without a batch, as after any outage), and the new thread built
//! up its working memory again beside what the old arena kept: the memory
//! maps of a 20-minute chaos run (`ADPIPE_CHAOS_SMAPS`) show thread arenas
//! trading places. One thread, warmed up first, keeps one working set.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

type Job = Box<dyn FnOnce() + Send>;

/// Dropping it closes the queue, which ends the thread after the job in
/// hand. Not joined: the last owner of the models can be a job on that
/// very thread.
pub(crate) struct ModelThread {
    jobs: mpsc::Sender<Job>,
}

impl ModelThread {
    /// Starts the thread; it lives until this is dropped.
    pub(crate) fn start() -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("adpipe-model".into())
            .spawn(move || {
                for job in queue {
                    // A panicking job drops its own result sender while it
                    // unwinds, so its caller hears of it; the thread, and
                    // its working set, stay for the next batch.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                }
            })
            .expect("the model thread starts");
        Self { jobs }
    }

    /// Queues `job` behind the ones before it. Dropped unrun (and with it
    /// whatever result sender it holds) when the thread is gone.
    pub(crate) fn run(&self, job: impl FnOnce() + Send + 'static) {
        let _ = self.jobs.send(Box::new(job));
    }

    /// Runs `job` on the thread and waits for its result; `None` if it
    /// panicked or the thread is gone.
    pub(crate) fn run_and_wait<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (result_tx, result_rx) = mpsc::sync_channel(1);
        self.run(move || {
            let _ = result_tx.send(job());
        });
        result_rx.recv().ok()
    }
}

impl std::fmt::Debug for ModelThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ModelThread")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_in_order_on_one_thread_that_outlives_a_panic() {
        let thread = ModelThread::start();
        let name = || std::thread::current().name().map(str::to_owned);
        let first = thread.run_and_wait(move || (std::thread::current().id(), name()));
        assert!(thread.run_and_wait(|| panic!("a failing batch")).is_none());
        let after = thread.run_and_wait(move || (std::thread::current().id(), name()));
        assert_eq!(first, after);
        assert_eq!(first.expect("ran").1.as_deref(), Some("adpipe-model"));
    }
}
