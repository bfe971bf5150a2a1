//! How the process hands memory back to the system. glibc's malloc, left
//! to its defaults, keeps what a long-running service frees: each of up to
//! eight arenas per core holds its own peak, and freed pages stay resident
//! until the top of a heap happens to be free. A service that handles
//! bursts of large buffers (uploads, decoded photos, a backlog's full
//! batches after an outage) then keeps the memory of its worst moment for
//! good. Trimming every few seconds returns it, as jemalloc's decay does.
//! Fewer arenas (`MALLOC_ARENA_MAX=2`) would hold less too, but cost
//! `adpipe serve` 35 % of its worker's pace (benches/pipeline.sh text):
//! its API, decoding and inference threads then wait on each other's
//! arena locks.

/// Starts a thread that hands freed memory back to the system every few
/// seconds (`malloc_trim`: free pages anywhere in every arena, not only at
/// a heap's top), so a service's resident memory follows what it uses now,
/// not the most it ever used.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn return_freed_memory_periodically() {
    // jemalloc returns unused pages over about ten seconds; a trim costs
    // well under a millisecond.
    const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
    let started = std::thread::Builder::new()
        .name("malloc-trim".into())
        .spawn(|| {
            loop {
                std::thread::sleep(TRIM_EVERY);
                // SAFETY: malloc_trim takes malloc's own locks; it is safe
                // to call from any thread at any time.
                unsafe {
                    libc::malloc_trim(0);
                }
            }
        });
    if let Err(error) = started {
        tracing::warn!(%error, "cannot start the thread that returns freed memory");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_freed_memory_periodically() {}
