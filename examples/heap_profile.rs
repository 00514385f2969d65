//! `sitegen` with the system allocator, for heap profilers that hook `malloc`
//! (`valgrind --tool=massif`, heaptrack): the `sitegen` binary's mimalloc takes its memory
//! from the kernel directly, so they see none of it. Same arguments as `sitegen`:
//!
//! ```sh
//! cargo build --release --example heap_profile
//! valgrind --tool=massif --depth=12 target/release/examples/heap_profile -q build
//! ms_print massif.out.* | less
//! ```

use clap::Parser;

fn main() {
    let cli = sitegen::cli::Cli::parse();
    std::process::exit(sitegen::cli::run(cli));
}
