//! How the process hands memory back to the system. glibc's malloc, left
//! to its defaults, keeps what a long-running service frees: each of up to
//! eight arenas per core holds its own peak, and freed pages stay resident
//! until the top of a heap happens to be free. A service that handles
//! bursts of large buffers (uploads, decoded photos, a backlog's full
//! batches after an outage) then keeps the memory of its worst moment for
//! good. These two settings make it behave like jemalloc's defaults: a few
//! arenas, and freed memory returned within seconds.

/// One malloc arena per core (at least two) instead of eight: allocation
/// stays uncontended and the memory bounded. Set before any thread starts;
/// `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` still decide when set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var_os("GLIBC_TUNABLES").is_some()
    {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets a malloc parameter; no thread but this
    // one exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_malloc_arenas() {}

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
