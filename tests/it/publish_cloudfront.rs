//! CloudFront invalidations against moto's server (PyPI `moto[server]` 5.2.5), the only
//! implementation of CloudFront's API that runs here. `.ci/run` installs moto in a venv,
//! starts `moto_server`, sets `SITEGEN_TEST_MOTO` to its URL and runs these with
//! `--include-ignored`. Plain `cargo test` lists them as ignored, with the reason.

use std::collections::BTreeSet;

use aws_sdk_cloudfront::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudfront::types::{
    DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig, ViewerProtocolPolicy,
};
use aws_sdk_cloudfront::Client;

use crate::publish::Deploy;

const NEEDS_MOTO: &str = "these tests need moto's CloudFront API: run `.ci/run`, or start `moto_server -H 127.0.0.1 -p PORT` and set SITEGEN_TEST_MOTO=http://127.0.0.1:PORT";

struct Moto {
    endpoint: String,
    client: Client,
    runtime: tokio::runtime::Runtime,
}

impl Moto {
    fn connect() -> Moto {
        let endpoint = std::env::var("SITEGEN_TEST_MOTO").unwrap_or_else(|_| panic!("{NEEDS_MOTO}"));
        let conf = aws_sdk_cloudfront::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .build();
        Moto {
            endpoint,
            client: Client::from_conf(conf),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    /// A new distribution in front of the test bucket; returns its id.
    fn distribution(&self, name: &str) -> String {
        let config = DistributionConfig::builder()
            .caller_reference(format!("sitegen-test-{name}-{}", std::process::id()))
            .comment(name)
            .enabled(true)
            .origins(
                Origins::builder()
                    .quantity(1)
                    .items(
                        Origin::builder()
                            .id("site")
                            .domain_name("site.s3.amazonaws.com")
                            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .default_cache_behavior(
                DefaultCacheBehavior::builder()
                    .target_origin_id("site")
                    .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let resp = self
            .runtime
            .block_on(self.client.create_distribution().distribution_config(config).send())
            .unwrap_or_else(|e| panic!("moto refused CreateDistribution: {e:?}"));
        resp.distribution().unwrap().id().to_string()
    }

    /// Every invalidation of a distribution: (status, sorted paths).
    fn invalidations(&self, dist: &str) -> Vec<(String, Vec<String>)> {
        self.runtime.block_on(async {
            let list = self
                .client
                .list_invalidations()
                .distribution_id(dist)
                .send()
                .await
                .unwrap();
            let mut out = Vec::new();
            for summary in list.invalidation_list().map(|l| l.items()).unwrap_or_default() {
                let inv = self
                    .client
                    .get_invalidation()
                    .distribution_id(dist)
                    .id(summary.id())
                    .send()
                    .await
                    .unwrap();
                let inv = inv.invalidation().unwrap();
                let mut paths: Vec<String> = inv
                    .invalidation_batch()
                    .and_then(|b| b.paths())
                    .map(|p| p.items().to_vec())
                    .unwrap_or_default();
                paths.sort();
                out.push((inv.status().to_string(), paths));
            }
            out
        })
    }
}

fn deploy(moto: &Moto, target: &str) -> Deploy {
    let mut d = Deploy::new(target);
    d.cloudfront = moto.endpoint.clone();
    d
}

fn edit_post_2(d: &Deploy) {
    d.site.write(
        "site/content/posts/post-2.md",
        d.site
            .read("site/content/posts/post-2.md")
            .replace("title = \"Post 2\"", "title = \"Post 2, retitled\"")
            .replace("Body of post 2.", "Body of post 2, edited."),
    );
}

#[test]
#[ignore = "needs moto: run .ci/run (it sets SITEGEN_TEST_MOTO)"]
fn an_edited_page_invalidates_exactly_its_paths_and_a_noop_invalidates_nothing() {
    let moto = Moto::connect();
    let dist = moto.distribution("edit");
    let d = deploy(
        &moto,
        &format!("cloudfront_distribution_ids = [\"{dist}\"]\nmax_invalidation_paths = 1000"),
    );
    d.build()
        .asset("css/app.scss", "css/app.0123456789.css", "body{color:red}");
    d.publish(&[]);
    // New files are not in any cache: nothing to invalidate.
    assert_eq!(moto.invalidations(&dist), []);

    let before = d.local();
    edit_post_2(&d);
    d.build()
        .asset("css/app.scss", "css/app.0123456789.css", "body{color:red}");
    let after = d.local();
    let out = d.publish(&["--wait", "-v"]);
    assert!(out.contains(&format!(" in {dist} completed")), "{out}");
    // Every changed file's URL, `x/index.html` also as `x/` and `x`.
    let mut want = BTreeSet::new();
    for (path, bytes) in &after {
        if before.get(path) != Some(bytes) {
            want.insert(format!("/{path}"));
            if let Some(dir) = path.strip_suffix("index.html") {
                want.insert(format!("/{dir}"));
                if !dir.is_empty() {
                    want.insert(format!("/{}", dir.trim_end_matches('/')));
                }
            }
        }
    }
    let invs = moto.invalidations(&dist);
    assert_eq!(invs.len(), 1, "{invs:?}");
    assert!(invs[0].0.eq_ignore_ascii_case("completed"));
    assert_eq!(invs[0].1, want.into_iter().collect::<Vec<_>>());

    d.publish(&[]);
    assert_eq!(
        moto.invalidations(&dist).len(),
        1,
        "a no-op publish invalidates nothing"
    );
}

#[test]
#[ignore = "needs moto: run .ci/run (it sets SITEGEN_TEST_MOTO)"]
fn several_distributions_get_collapsed_paths_between_uploads_and_deletes() {
    let moto = Moto::connect();
    let (a, b) = (moto.distribution("a"), moto.distribution("b"));
    let d = deploy(
        &moto,
        &format!("cloudfront_distribution_ids = [\"{a}\", \"{b}\"]\nmax_invalidation_paths = 6"),
    );
    d.build()
        .asset("css/app.scss", "css/app.aaaaaaaaaa.css", "body{color:red}");
    d.publish(&[]);
    edit_post_2(&d);
    d.build()
        .asset("css/app.scss", "css/app.bbbbbbbbbb.css", "body{color:blue}");
    let out = d.publish(&["-v"]);
    // Past 6 paths they collapse into wildcards, never into `/*`; the fingerprinted
    // stylesheets (new and deleted) are not invalidated at all.
    let invs_a = moto.invalidations(&a);
    assert_eq!(invs_a, moto.invalidations(&b));
    assert_eq!(invs_a.len(), 1);
    let paths = &invs_a[0].1;
    assert!(paths.len() <= 6, "{paths:?}");
    assert!(!paths.contains(&"/*".to_string()), "{paths:?}");
    assert!(paths.iter().all(|p| !p.contains("css")), "{paths:?}");
    insta::assert_snapshot!(paths.join("\n"));
    // Uploads, then the invalidations, then the delete.
    let steps: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split(' ').next())
        .filter(|w| matches!(*w, "uploaded" | "invalidated" | "deleted"))
        .collect();
    let first_inv = steps.iter().position(|s| *s == "invalidated").unwrap();
    assert!(steps[..first_inv].iter().all(|s| *s == "uploaded"), "{steps:?}");
    assert_eq!(&steps[first_inv..], ["invalidated", "invalidated", "deleted"], "{out}");
}

#[test]
#[ignore = "needs moto: run .ci/run (it sets SITEGEN_TEST_MOTO)"]
fn a_failed_invalidation_skips_the_deletes_and_the_rerun_invalidates_what_is_owed() {
    let moto = Moto::connect();
    let dist = moto.distribution("owed");
    let d = deploy(
        &moto,
        &format!("cloudfront_distribution_ids = [\"{dist}\", \"ENOSUCHDIST00\"]\nmax_invalidation_paths = 1000"),
    );
    d.build()
        .asset("css/app.scss", "css/app.aaaaaaaaaa.css", "body{color:red}");
    d.publish(&[]);
    d.site.write(
        "site/content/docs/a.md",
        d.site.read("site/content/docs/a.md") + "\nMore.\n",
    );
    d.build()
        .asset("css/app.scss", "css/app.bbbbbbbbbb.css", "body{color:blue}");
    let err = d.publish_fails(&[]);
    assert!(
        err.starts_with(
            "error: CloudFront distribution `ENOSUCHDIST00`: cannot create an invalidation: HTTP 404, NoSuchDistribution"
        ),
        "{err}"
    );
    // Uploaded, but not deleted: the old stylesheet stays until CloudFront has been told.
    assert!(d.remote().contains_key("css/app.aaaaaaaaaa.css"));
    assert_eq!(moto.invalidations(&dist).len(), 1);

    // With the bad distribution gone, the rerun has no uploads left but still owes the
    // invalidation of the edited page, and then deletes.
    d.site.write(
        "config.toml",
        d.site.read("config.toml").replace(", \"ENOSUCHDIST00\"", ""),
    );
    d.s3.clear_log();
    let out = d.publish(&["-v"]);
    assert_eq!(d.uploaded(), Vec::<String>::new(), "{out}");
    let invs = moto.invalidations(&dist);
    assert_eq!(invs.len(), 2);
    assert!(
        invs.iter().all(|(_, p)| p.contains(&"/docs/a/".to_string())),
        "{invs:?}"
    );
    assert!(!d.remote().contains_key("css/app.aaaaaaaaaa.css"));
    d.s3.clear_log();
    d.publish(&[]);
    assert_eq!(d.s3.writes(), []);
    assert_eq!(moto.invalidations(&dist).len(), 2);
}
