//! A local S3 server for the publish benchmark (`bench/publish.py`): s3s-fs 0.14.1 with SigV4,
//! the same server and request-recording layer the integration tests use, on a fixed port.
//! Every request is appended to `--log FILE` as `OPERATION KEY`, so the benchmark can count
//! what each tool asked for. `--latency MS` makes every request wait that long before it is
//! answered (a round trip to a distant region); `--fast-list` answers ListObjectsV2 from one
//! walk of the bucket's folder, as s3s-fs would but without its cost per file (about a
//! second per page at 10,000 objects), so that a benchmark measures round trips, not that.
//!
//! ```sh
//! cargo run --release --example s3_server -- --root /tmp/s3 --port 9014 --log /tmp/s3.log
//! cargo run --example s3_server -- --root /tmp/s3 --latency 150 --fast-list
//! ```
//! Credentials: `AWS_ACCESS_KEY_ID=AKIASITEGENTEST00001`,
//! `AWS_SECRET_ACCESS_KEY=sitegen/test/secret/key/0000000000000000`; bucket `site`.

// The test helpers this includes are more than the benchmark calls.
#[allow(dead_code)]
#[path = "../tests/it/s3server.rs"]
mod s3server;

use std::io::Write;
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut root, mut port, mut log, mut latency, mut fast_list) = (None, 9014u16, None, 0u64, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--root" => root = args.next().map(PathBuf::from),
            "--port" => port = args.next().and_then(|p| p.parse().ok()).expect("--port takes a number"),
            "--log" => log = args.next().map(PathBuf::from),
            "--latency" => {
                latency = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("--latency takes milliseconds")
            }
            "--fast-list" => fast_list = true,
            _ => panic!("usage: s3_server --root DIR [--port P] [--log FILE] [--latency MS] [--fast-list]"),
        }
    }
    let root = root.expect("--root DIR is required");
    let server = s3server::S3Server::start_in(root, port);
    server.set_latency(std::time::Duration::from_millis(latency));
    server.set_fast_list(fast_list);
    println!("{}", server.endpoint);
    std::io::stdout().flush().unwrap();
    let mut out: Box<dyn Write> = match log {
        Some(p) => Box::new(std::fs::File::create(p).unwrap()),
        None => Box::new(std::io::sink()),
    };
    loop {
        std::thread::sleep(std::time::Duration::from_millis(20));
        for r in server.drain() {
            writeln!(out, "{} {}", r.op, r.key).unwrap();
        }
        out.flush().unwrap();
    }
}
