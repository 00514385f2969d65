//! What every edge that talks to S3 shares: the SDK's configuration from the standard AWS
//! chain, an S3 client for a region and an endpoint (AWS's, `AWS_ENDPOINT_URL_S3`, or any
//! S3-compatible server), and SDK errors in words. `publish` (the site's bucket) and the
//! image stage's remote cache (`images/remote.rs`) build their clients here, so both find
//! credentials, regions and endpoints the same way and say what went wrong the same way.
//! Nothing here sends a request.

use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// The shared AWS configuration (credentials, region, endpoints) from the standard chain:
/// environment, profile, SSO, container or instance role; `region` wins over the chain's.
pub async fn sdk_config(region: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_string()));
    }
    loader.load().await
}

/// How long a client waits and how often it tries.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// Attempts per request (the first one and the retries), with the SDK's standard backoff.
    pub attempts: u32,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

/// There is no region: neither the caller's, nor the chain's, and no custom endpoint (for
/// which any region would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRegion;

/// An S3 client configuration for `region` (else the chain's) at `endpoint` (else
/// `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, else AWS), path-style on a custom endpoint.
/// Returns the builder (callers add their own settings) and where requests go, for
/// messages: `AWS` or the endpoint.
pub fn s3_config(
    sdk: &aws_config::SdkConfig,
    region: Option<&str>,
    endpoint: Option<&str>,
    patience: Patience,
) -> Result<(aws_sdk_s3::config::Builder, String), NoRegion> {
    let custom = endpoint.map(str::to_string).or_else(env_endpoint);
    let mut b = aws_sdk_s3::config::Builder::from(sdk)
        .retry_config(RetryConfig::standard().with_max_attempts(patience.attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(patience.connect_timeout)
                .read_timeout(patience.read_timeout)
                .build(),
        );
    if let Some(r) = region {
        b = b.region(Region::new(r.to_string()));
    }
    if sdk.region().is_none() && region.is_none() {
        if custom.is_none() {
            return Err(NoRegion);
        }
        // S3-compatible servers ignore the region but SigV4 needs one.
        b = b.region(Region::new("us-east-1"));
    }
    if let Some(e) = endpoint {
        b = b.endpoint_url(e);
    }
    if custom.is_some() {
        // `bucket.localhost` does not resolve; S3-compatible servers expect path style.
        b = b.force_path_style(true);
    }
    Ok((b, custom.unwrap_or_else(|| "AWS".into())))
}

fn env_endpoint() -> Option<String> {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
}

/// An SDK error in words: what the server said (HTTP status, AWS error code, message), or
/// why it could not be reached (the error chain, each cause once); with `verbose`, the SDK's
/// whole error value follows. Never includes credentials (the SDK does not put them in errors).
pub fn describe<E>(e: &SdkError<E, HttpResponse>, endpoint: &str, verbose: bool) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let words = in_words(e, endpoint);
    if verbose {
        format!("{words}\n  the SDK's error: {e:?}")
    } else {
        words
    }
}

/// [`describe`] without the SDK's value.
pub fn in_words<E>(e: &SdkError<E, HttpResponse>, endpoint: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let status = se.raw().status().as_u16();
            let code = err.code().unwrap_or("unknown error");
            let msg = err.message().unwrap_or("");
            let hint = match code {
                "NoSuchBucket" => " (the bucket does not exist: check `bucket` and the region)",
                "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken" => {
                    " (the credentials were refused: check AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
                }
                "AccessDenied" => " (the credentials lack a permission; see the IAM policy in the publishing docs)",
                _ => "",
            };
            if msg.is_empty() {
                format!("HTTP {status}, {code}{hint}")
            } else {
                format!("HTTP {status}, {code}: {msg}{hint}")
            }
        }
        SdkError::ResponseError(re) => {
            format!(
                "{endpoint} answered HTTP {} that could not be read: {}",
                re.raw().status().as_u16(),
                chain(e)
            )
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            format!("cannot reach {endpoint}: {}", chain(e))
        }
        _ => chain(e),
    }
}

/// An error and its sources, each said once: `dispatch failure: io error: tcp connect
/// error: Connection refused (os error 111)`.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(x) = cur {
        let s = x.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = x.source();
    }
    parts.join(": ")
}
