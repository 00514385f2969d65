//! `sitegen`: parse the command line and hand over to [`sitegen::cli::run`].

use clap::Parser;

fn main() {
    let cli = sitegen::cli::Cli::parse();
    std::process::exit(sitegen::cli::run(cli));
}
