//! How the process hands memory back to the system. glibc's malloc, left
//! to its defaults, keeps what a long-running service frees: each of up to
//! eight arenas per core holds its own peak, and freed pages stay resident
//! until the top of a heap happens to be free. A service that handles
//! bursts of large buffers (uploads, decoded photos, a backlog's full
//! batches after an outage) then keeps the memory of its worst moment for
//! good, and its threads' arenas trade places over hours.
//!
//! So the Rust side allocates with jemalloc: a fixed number of arenas
//! (four per core), size classes that keep fragmentation bounded, and
//! background threads that return freed pages after about ten seconds.
//! What ONNX Runtime and the C decoders allocate still goes to glibc's
//! malloc (they are separate libraries); a trim every few seconds hands
//! that back. Fewer glibc arenas (`MALLOC_ARENA_MAX=2`) would hold less
//! too, but cost `adpipe serve` 35 % of its worker's pace
//! (benches/pipeline.sh text): its API, decoding and inference threads
//! then wait on each other's arena locks.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static RUST_ALLOCATIONS: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Starts a thread that hands glibc's freed memory back to the system every
/// few seconds (`malloc_trim`: free pages anywhere in every arena, not only at
/// a heap's top), so a service's resident memory follows what it uses now,
/// not the most it ever used.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn return_freed_memory_periodically() {
    // About the pace of jemalloc's decay on the Rust side (ten seconds);
    // a trim costs well under a millisecond.
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
