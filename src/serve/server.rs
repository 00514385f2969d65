//! The development HTTP server: serves the latest build plan (never a file from disk, so no
//! path can reach outside the site), injects the live-reload client into HTML, and pushes
//! rebuild messages over a WebSocket. The served files are one map from paths to the hashes
//! of bodies held in the [`Store`], updated path by path as rebuilds (and their previews)
//! publish what changed: no copy of the whole plan per rebuild.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::broadcast;

use super::store::Store;
use crate::build::BuildPlan;

pub const LIVERELOAD_JS: &str = include_str!("livereload.js");
const SCRIPT_TAG: &str = "<script src=\"/__sitegen/livereload.js\" defer></script>";

/// The files the server shows: output path -> the sha256 of its body in the store.
pub type Files = HashMap<String, [u8; 32]>;

/// What the server shows: the files of the last good plan, and the last build error (if the
/// last build failed), shared with the watcher.
pub struct Shared {
    pub files: RwLock<Files>,
    pub store: Arc<Store>,
    pub error: RwLock<Option<String>>,
    pub tx: broadcast::Sender<String>,
    /// Requests answered so far, so the watcher can let a browser fetch a previewed page
    /// before the rebuild takes the CPU.
    served: (Mutex<u64>, Condvar),
}

impl Shared {
    /// Shows every file of `plan`, whose streamed bodies are in `store`.
    pub fn new(plan: &BuildPlan, store: Arc<Store>) -> Arc<Shared> {
        let (tx, _) = broadcast::channel(64);
        let shared = Arc::new(Shared {
            files: RwLock::new(Files::new()),
            store,
            error: RwLock::new(None),
            tx,
            served: (Mutex::new(0), Condvar::new()),
        });
        let all: Vec<String> = plan.files.keys().cloned().collect();
        shared.publish(plan, &all);
        shared.store.sweep();
        shared
    }

    /// How many requests were answered.
    pub fn served(&self) -> u64 {
        *self.served.0.lock().expect("served lock")
    }

    /// Waits until more than `since` requests were answered, or `timeout` passes.
    pub fn wait_served(&self, since: u64, timeout: Duration) {
        let guard = self.served.0.lock().expect("served lock");
        let _ = self
            .served
            .1
            .wait_timeout_while(guard, timeout, |n| *n <= since)
            .expect("served lock");
    }

    fn note_served(&self) {
        *self.served.0.lock().expect("served lock") += 1;
        self.served.1.notify_all();
    }

    /// Makes the `changed` paths show what `plan` has for them (removing those it lacks), all
    /// under one lock: a request sees all of a rebuild's changes or none. A file the plan
    /// still holds the bytes of (a preview's) goes to the store first.
    pub fn publish(&self, plan: &BuildPlan, changed: &[String]) {
        let mut files = self.files.write().expect("files lock");
        for p in changed {
            let old = match plan.files.get(p) {
                Some(f) => {
                    if !self.store.insert_file(f) {
                        // Cannot happen: the store keeps every body a builder may reuse.
                        eprintln!("error: no bytes for `{p}` (not shown)");
                        files.remove(p)
                    } else {
                        self.store.retain(&f.sha256);
                        files.insert(p.clone(), f.sha256)
                    }
                }
                None => files.remove(p),
            };
            if let Some(old) = old {
                self.store.release(&old);
            }
        }
    }
}

/// The base URL for links and for the terminal: a server listening on every interface
/// (`0.0.0.0`, `::`) is reached here through loopback, which is what links must name (a browser
/// cannot open `http://0.0.0.0/`). Returns a note for the terminal in that case.
pub fn link_base(addr: SocketAddr) -> (String, Option<String>) {
    let ip = addr.ip();
    if !ip.is_unspecified() {
        return (format!("http://{addr}"), None);
    }
    let loopback = match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    let base = format!("http://{}", SocketAddr::new(loopback, addr.port()));
    let note = format!(
        "Listening on every interface ({addr}): other machines reach the site through this machine's address; its links use {base}."
    );
    (base, Some(note))
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/__sitegen/livereload.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    LIVERELOAD_JS,
                )
            }),
        )
        .route("/__sitegen/livereload", get(livereload))
        .fallback(get(page))
        .with_state(shared)
}

/// Binds `bind:port`, or the next free port (up to 10 tries) when it is taken.
pub async fn bind(bind: std::net::IpAddr, port: u16) -> std::io::Result<(tokio::net::TcpListener, Option<u16>)> {
    let mut last_err = None;
    for p in 0..10u16 {
        let try_port = if port == 0 { 0 } else { port.saturating_add(p) };
        match tokio::net::TcpListener::bind(SocketAddr::new(bind, try_port)).await {
            Ok(l) => return Ok((l, (p > 0).then_some(port))),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && port != 0 => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no free port")))
}

async fn livereload(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |socket| client(socket, shared))
}

async fn client(mut socket: WebSocket, shared: Arc<Shared>) {
    let mut rx = shared.tx.subscribe();
    let pending = shared.error.read().expect("error lock").clone();
    if let Some(e) = pending {
        if socket.send(WsMessage::Text(e.into())).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(text) => {
                    if socket.send(WsMessage::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Where a request path leads in the plan.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    File(String),
    /// `/blog` → `/blog/`.
    Redirect(String),
    NotFound,
}

/// Maps a URL path to an output file. Percent-escapes are decoded; `..` segments, NUL and
/// backslashes are refused, so nothing outside the plan can be named.
pub fn lookup(files: &Files, raw: &str) -> Lookup {
    let decoded = crate::paths::percent_decode(raw);
    if decoded.contains('\0') || decoded.contains('\\') || decoded.split('/').any(|s| s == "..") {
        return Lookup::NotFound;
    }
    let p = decoded.trim_start_matches('/');
    let candidate = crate::paths::output_path(p);
    if files.contains_key(&candidate) {
        return Lookup::File(candidate);
    }
    if !p.is_empty() && !p.ends_with('/') && files.contains_key(&format!("{p}/index.html")) {
        return Lookup::Redirect(format!("/{p}/"));
    }
    Lookup::NotFound
}

/// Adds the live-reload client to an HTML page.
pub fn inject(html: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(html);
    let lower = text.to_ascii_lowercase();
    match lower.rfind("</body>") {
        Some(i) => format!("{}{SCRIPT_TAG}{}", &text[..i], &text[i..]).into_bytes(),
        None => format!("{text}{SCRIPT_TAG}").into_bytes(),
    }
}

async fn page(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    // Looked up and read under the lock, so the body cannot be swept meanwhile.
    let found = {
        let files = shared.files.read().expect("files lock");
        let read = |p: String| shared.store.read(&files[&p]).map(|r| (r, p));
        match lookup(&files, uri.path()) {
            Lookup::File(p) => Ok((StatusCode::OK, read(p))),
            Lookup::Redirect(to) => Err(Some(to)),
            Lookup::NotFound if files.contains_key("404.html") => {
                Ok((StatusCode::NOT_FOUND, read("404.html".to_string())))
            }
            Lookup::NotFound => Err(None),
        }
    };
    let respond = |status: StatusCode, path: &str, bytes: Vec<u8>| {
        let body = if path.ends_with(".html") { inject(&bytes) } else { bytes };
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = status;
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&crate::paths::content_type(path)).expect("ascii content type"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    };
    shared.note_served();
    match found {
        Ok((status, Some((Ok(bytes), p)))) => respond(status, &p, bytes),
        Ok((_, Some((Err(e), p)))) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("500: cannot read `{p}` back from the temporary file: {e}"),
        )
            .into_response(),
        Ok((_, None)) => (StatusCode::INTERNAL_SERVER_ERROR, "500: the file's bytes are missing").into_response(),
        Err(Some(to)) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response(),
        Err(None) => (StatusCode::NOT_FOUND, "404: not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::OutputFile;

    #[test]
    fn lookups_and_traversal() {
        let mut plan = Files::new();
        for p in ["index.html", "blog/index.html", "blog/a b/index.html", "css/site.css"] {
            plan.insert(p.into(), [0; 32]);
        }
        assert_eq!(lookup(&plan, "/"), Lookup::File("index.html".into()));
        assert_eq!(lookup(&plan, "/blog/"), Lookup::File("blog/index.html".into()));
        assert_eq!(lookup(&plan, "/blog"), Lookup::Redirect("/blog/".into()));
        assert_eq!(
            lookup(&plan, "/blog/a%20b/"),
            Lookup::File("blog/a b/index.html".into())
        );
        assert_eq!(lookup(&plan, "/css/site.css"), Lookup::File("css/site.css".into()));
        assert_eq!(lookup(&plan, "/../etc/passwd"), Lookup::NotFound);
        assert_eq!(lookup(&plan, "/blog/%2e%2e/%2e%2e/etc/passwd"), Lookup::NotFound);
        assert_eq!(lookup(&plan, "/blog/..%5c..%5cetc"), Lookup::NotFound);
        assert_eq!(lookup(&plan, "/nope"), Lookup::NotFound);
    }

    #[test]
    fn injects_before_the_last_body_end() {
        assert_eq!(
            inject(b"<html><body>x</body></html>"),
            format!("<html><body>x{SCRIPT_TAG}</body></html>").into_bytes()
        );
        assert_eq!(inject(b"fragment"), format!("fragment{SCRIPT_TAG}").into_bytes());
    }

    #[test]
    fn links_name_loopback_when_listening_everywhere() {
        let (base, note) = link_base("0.0.0.0:1111".parse().unwrap());
        assert_eq!(base, "http://127.0.0.1:1111");
        assert!(note.unwrap().contains("0.0.0.0:1111"));
        assert_eq!(link_base("[::]:80".parse().unwrap()).0, "http://[::1]:80");
        assert_eq!(
            link_base("192.168.1.5:1111".parse().unwrap()),
            ("http://192.168.1.5:1111".to_string(), None)
        );
    }

    #[test]
    fn publishing_updates_only_the_changed_paths() {
        let mut old = BuildPlan::default();
        old.files.insert("a.html".into(), OutputFile::new(b"a".to_vec(), "t"));
        old.files
            .insert("gone.html".into(), OutputFile::new(b"g".to_vec(), "t"));
        let shared = Shared::new(&old, Arc::new(Store::new(0)));
        let mut new = BuildPlan::default();
        new.files.insert("a.html".into(), OutputFile::new(b"A".to_vec(), "t"));
        new.files.insert("b.html".into(), OutputFile::new(b"b".to_vec(), "t"));
        shared.publish(&new, &["a.html".into(), "gone.html".into()]);
        shared.store.sweep();
        let files = shared.files.read().unwrap();
        let mut names: Vec<(&str, Vec<u8>)> = files
            .iter()
            .map(|(k, v)| (k.as_str(), shared.store.read(v).unwrap().unwrap()))
            .collect();
        names.sort();
        // `b.html` was not named as changed, so it is not published.
        assert_eq!(names, vec![("a.html", b"A".to_vec())]);
        // The bodies of `a` and `gone` went at the sweep.
        assert_eq!(shared.store.stats().bodies, 1);
    }
}
