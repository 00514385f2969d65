//! `sitegen`: parse the command line and hand over to [`sitegen::cli::run`].

use clap::Parser;

/// mimalloc: glibc's per-thread arenas kept about twice the live heap resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = sitegen::cli::Cli::parse();
    std::process::exit(sitegen::cli::run(cli));
}
