//! One integration test binary (as ripgrep does): every test gets its own copy of a fixture
//! site in a temp dir.

mod harness;

mod assets;
mod browser;
mod cli;
mod code_blocks;
mod errors;
mod fuzz;
mod images;
mod images_remote;
mod import;
mod import_hugo;
mod incremental;
mod layering;
mod links;
mod markdown;
mod multilingual;
mod output;
mod publish;
mod publish_cloudfront;
mod publish_faults;
mod publish_lock;
mod publish_plan;
mod s3server;
mod search;
mod serve_storm;
mod site;
