//! The CloudFront adapter: create an invalidation in a distribution and, for `--wait`, poll it
//! until it is done. CloudFront reports a finished invalidation as `Completed` (moto, the
//! emulator the tests use, as `COMPLETED`), so the status is compared case-insensitively.

use std::time::{Duration, Instant};

use aws_sdk_cloudfront::config::retry::RetryConfig;
use aws_sdk_cloudfront::config::Region;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use aws_sdk_cloudfront::Client;

use super::s3::MAX_ATTEMPTS;
use crate::aws::describe;
use crate::error::Diagnostic;

#[derive(Debug, Clone)]
pub struct Invalidator {
    client: Client,
    endpoint: String,
    /// Errors carry the SDK's whole error value too (`-v`).
    pub verbose: bool,
}

/// One created invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    pub distribution: String,
    pub id: String,
}

impl Invalidator {
    /// A client from the standard chain; `AWS_ENDPOINT_URL_CLOUDFRONT` is honoured. CloudFront
    /// is global: without a configured region, `us-east-1` signs the requests.
    pub fn new(sdk: &aws_config::SdkConfig) -> Invalidator {
        let mut b = aws_sdk_cloudfront::config::Builder::from(sdk)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        if sdk.region().is_none() {
            b = b.region(Region::new("us-east-1"));
        }
        let endpoint = ["AWS_ENDPOINT_URL_CLOUDFRONT", "AWS_ENDPOINT_URL"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "CloudFront".into());
        Invalidator {
            client: Client::from_conf(b.build()),
            endpoint,
            verbose: false,
        }
    }

    fn diag(distribution: &str, what: &str, cause: String) -> Diagnostic {
        Diagnostic::new(
            format!("CloudFront distribution `{distribution}`"),
            format!("cannot {what}: {cause}"),
        )
    }

    /// Asks `distribution` to forget `paths`; `reference` makes a retried request idempotent.
    pub async fn invalidate(
        &self,
        distribution: &str,
        paths: &[String],
        reference: &str,
    ) -> Result<Invalidation, Diagnostic> {
        let batch = InvalidationBatch::builder()
            .caller_reference(reference)
            .paths(
                Paths::builder()
                    .quantity(paths.len() as i32)
                    .set_items(Some(paths.to_vec()))
                    .build()
                    .expect("quantity is set"),
            )
            .build()
            .expect("caller reference and paths are set");
        let resp = self
            .client
            .create_invalidation()
            .distribution_id(distribution)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| {
                Self::diag(
                    distribution,
                    "create an invalidation",
                    describe(&e, &self.endpoint, self.verbose),
                )
            })?;
        let id = resp.invalidation().map(|i| i.id().to_string()).unwrap_or_default();
        Ok(Invalidation {
            distribution: distribution.to_string(),
            id,
        })
    }

    /// Polls until the invalidation is completed, or fails after `timeout`.
    pub async fn wait(&self, inv: &Invalidation, timeout: Duration) -> Result<usize, Diagnostic> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(500);
        let mut requests = 0;
        loop {
            let resp = self
                .client
                .get_invalidation()
                .distribution_id(&inv.distribution)
                .id(&inv.id)
                .send()
                .await
                .map_err(|e| {
                    Self::diag(
                        &inv.distribution,
                        &format!("read invalidation `{}`", inv.id),
                        describe(&e, &self.endpoint, self.verbose),
                    )
                })?;
            requests += 1;
            let status = resp.invalidation().map(|i| i.status().to_string()).unwrap_or_default();
            if status.eq_ignore_ascii_case("completed") {
                return Ok(requests);
            }
            if start.elapsed() + delay > timeout {
                return Err(Self::diag(
                    &inv.distribution,
                    "wait for the invalidation",
                    format!("`{}` is still `{status}` after {} s", inv.id, timeout.as_secs()),
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }
}
