//! Blocking file-system calls in bulk: a thread pool with more calls in flight than there are
//! cores. Reading a million source files, or looking at a million outputs again, mostly
//! waits for the disk (a cold inode or page cache); two threads leave the disk idle between
//! calls. A leaf: it imports nothing from the crate.

use std::sync::OnceLock;

/// How many file-system calls the pool keeps in flight.
const IO_THREADS: usize = 16;

/// The pool for file reads and stats: run a parallel iterator of such calls inside
/// `io_pool().install(...)`.
pub fn io_pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(IO_THREADS)
            .thread_name(|i| format!("sitegen-io-{i}"))
            .build()
            .expect("a thread pool for file-system calls")
    })
}
