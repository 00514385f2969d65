//! The network edge of the external link check: each URL asked once, many at once but at
//! most `per_host` at a time per host, HEAD first and GET when the server does not allow
//! HEAD (405, 501), redirects followed up to `max_redirects`, each request bounded by
//! `timeout`. reqwest with rustls (its roots from the system).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use tokio::sync::Semaphore;

use super::Outcome;
use crate::config::LinkCheckerConfig;

/// Every URL unknown, because the client could not start.
fn all_unknown(urls: &[String], e: &str) -> BTreeMap<String, Outcome> {
    let why = format!("cannot start the HTTP client: {e}");
    urls.iter()
        .map(|u| (u.clone(), Outcome::Unknown(why.clone())))
        .collect()
}

/// Checks every URL; returns each one's outcome.
pub fn check(urls: &[String], config: &LinkCheckerConfig) -> BTreeMap<String, Outcome> {
    if urls.is_empty() {
        return BTreeMap::new();
    }
    let timeout = Duration::from_secs(crate::config::parse_duration(&config.timeout).unwrap_or(10).max(1));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return all_unknown(urls, &e.to_string()),
    };
    let client = reqwest::Client::builder()
        .user_agent(concat!("sitegen-link-checker/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(config.max_redirects))
        .timeout(timeout)
        .connect_timeout(timeout)
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => return all_unknown(urls, &e.to_string()),
    };
    let total = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>> = Arc::default();
    let per_host = config.per_host.max(1);
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for url in urls {
            let host = reqwest::Url::parse(url)
                .ok()
                .and_then(|u| {
                    u.host_str()
                        .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
                })
                .unwrap_or_default();
            let host_limit = hosts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(per_host)))
                .clone();
            let (client, total, url) = (client.clone(), total.clone(), url.clone());
            tasks.spawn(async move {
                // The host's turn first, so a busy host does not hold the others' slots.
                let _host = host_limit.acquire_owned().await;
                let _slot = total.acquire_owned().await;
                let outcome = check_one(&client, &url, timeout).await;
                (url, outcome)
            });
        }
        let mut out = BTreeMap::new();
        while let Some(r) = tasks.join_next().await {
            if let Ok((url, outcome)) = r {
                out.insert(url, outcome);
            }
        }
        out
    })
}

/// HEAD, then GET when HEAD is not allowed.
async fn check_one(client: &reqwest::Client, url: &str, timeout: Duration) -> Outcome {
    match request(client, Method::HEAD, url, timeout).await {
        Ok(s) if s == StatusCode::METHOD_NOT_ALLOWED || s == StatusCode::NOT_IMPLEMENTED => {
            match request(client, Method::GET, url, timeout).await {
                Ok(s) => outcome_of(s),
                Err(why) => Outcome::Dead(why),
            }
        }
        Ok(s) => outcome_of(s),
        Err(why) => Outcome::Dead(why),
    }
}

async fn request(client: &reqwest::Client, method: Method, url: &str, timeout: Duration) -> Result<StatusCode, String> {
    match client.request(method, url).send().await {
        Ok(r) => Ok(r.status()),
        Err(e) => Err(describe(&e, timeout)),
    }
}

fn outcome_of(status: StatusCode) -> Outcome {
    let text = match status.canonical_reason() {
        Some(r) => format!("{} {r}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    if status.is_success() {
        Outcome::Alive(status.as_u16())
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        Outcome::Unknown(text)
    } else if status.is_redirection() {
        Outcome::Dead(format!("{text} with no usable `Location`"))
    } else {
        Outcome::Dead(text)
    }
}

/// Why a request got no answer, in a few words.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}s", timeout.as_secs());
    }
    if e.is_redirect() {
        return "too many redirects".to_string();
    }
    // The innermost cause says most (`connection reset by peer`, `dns error`).
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    format!("{what}: {cause}")
}
