//! Writing to disk: atomic swap, failed builds leave `public/` alone, unchanged files are not
//! rewritten, and the same input gives the same bytes.

use std::os::unix::fs::MetadataExt;

use filetime::FileTime;

use crate::harness::{snapshot_dir, TestSite};

fn assert_no_temporary_folders(site: &TestSite) {
    let leftovers: Vec<_> = std::fs::read_dir(site.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sitegen") && n != ".public.sitegen-record")
        .collect();
    assert!(leftovers.is_empty(), "temporary folders left behind: {leftovers:?}");
}

#[test]
fn a_failed_build_leaves_public_as_it_was() {
    let site = TestSite::fixture("blog");
    site.cmd(&["build", "-q"]).assert().success();
    let before = snapshot_dir(&site.path("public"));
    assert!(before.len() > 20);

    site.write(
        "site/content/posts/post-1.md",
        "+++\ntitle = \"Broken\"\ndate = \n+++\n",
    );
    site.write("site/content/posts/post-new.md", "+++\ntitle = \"New\"\n+++\n");
    let out = site.cmd(&["build"]).assert().failure().code(1).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("site/content/posts/post-1.md:3:"), "{stderr}");
    assert!(stderr.contains("the output folder was left as it was"), "{stderr}");

    assert_eq!(snapshot_dir(&site.path("public")), before);
    assert_no_temporary_folders(&site);
}

#[test]
fn a_rebuild_without_changes_rewrites_no_file() {
    let site = TestSite::fixture("blog");
    site.cmd(&["build", "-q"]).assert().success();
    // Age every output file so a rewrite would show.
    let old = FileTime::from_unix_time(1_000_000_000, 0);
    let files = snapshot_dir(&site.path("public"));
    let mut inodes = std::collections::BTreeMap::new();
    for rel in files.keys() {
        let p = site.path("public").join(rel);
        filetime::set_file_mtime(&p, old).unwrap();
        inodes.insert(rel.clone(), std::fs::metadata(&p).unwrap().ino());
    }

    let out = site.cmd(&["build"]).assert().success().get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains(&format!("(0 written, {} unchanged, 0 removed)", files.len())),
        "{out}"
    );
    for rel in files.keys() {
        let meta = std::fs::metadata(site.path("public").join(rel)).unwrap();
        assert_eq!(FileTime::from_last_modification_time(&meta), old, "{rel} was rewritten");
        assert_eq!(meta.ino(), inodes[rel], "{rel} was replaced");
    }

    // One edited page: that page and the pages listing it change, nothing else.
    site.write(
        "site/content/docs/a.md",
        "+++\ntitle = \"A\"\nweight = 1\n+++\nFirst doc, edited.\n",
    );
    site.cmd(&["build", "-q"]).assert().success();
    let changed: Vec<String> = files
        .keys()
        .filter(|rel| {
            FileTime::from_last_modification_time(&std::fs::metadata(site.path("public").join(rel.as_str())).unwrap())
                != old
        })
        .cloned()
        .collect();
    assert_eq!(changed, vec!["docs/a/index.html".to_string()]);
}

#[test]
fn removed_pages_disappear_from_the_output() {
    let site = TestSite::fixture("blog");
    site.cmd(&["build", "-q"]).assert().success();
    assert!(site.path("public/docs/a/index.html").exists());
    site.remove("site/content/docs/a.md");
    let out = site.cmd(&["build"]).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8(out).unwrap().contains("1 removed"));
    assert!(!site.path("public/docs/a/index.html").exists());
}

#[test]
fn the_same_input_gives_byte_identical_output() {
    let site = TestSite::fixture("blog");
    site.cmd(&["build", "-q", "--output", "one"]).assert().success();
    site.cmd(&["build", "-q", "--output", "two"]).assert().success();
    let (a, b) = (snapshot_dir(&site.path("one")), snapshot_dir(&site.path("two")));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs between two builds");
    }
}

/// A sink that keeps what it is given, to compare a streaming build with an in-memory one.
#[derive(Debug, Default)]
struct Collect(std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>);

impl sitegen::build::OutputSink for Collect {
    fn put(&self, path: &str, file: &sitegen::build::OutputFile) -> Result<(), sitegen::error::Diagnostic> {
        let old = self.0.lock().unwrap().insert(path.to_string(), file.bytes.to_vec());
        assert!(old.is_none(), "{path} was streamed twice");
        Ok(())
    }
}

#[test]
fn a_streaming_build_hands_every_output_over_once_and_keeps_only_paths_and_hashes() {
    use sha2::{Digest, Sha256};
    use sitegen::build::BuildOptions;
    let site = TestSite::fixture("blog");
    // A broken link in Markdown: the link check reads streamed pages too.
    site.write(
        "site/content/posts/post-3.md",
        "+++\ntitle = \"Three\"\ndate = 2024-01-03\n+++\nSee [the missing page](/sub/nowhere/).\n",
    );
    let memory = site.plan().unwrap();
    let sink = std::sync::Arc::new(Collect::default());
    let streamed = site
        .plan_with(BuildOptions {
            sink: Some(sink.clone()),
            ..BuildOptions::default()
        })
        .unwrap();
    let got = sink.0.lock().unwrap();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        memory.plan.files.keys().collect::<Vec<_>>()
    );
    for (path, file) in &streamed.plan.files {
        let held = &memory.plan.files[path];
        assert!(file.streamed && file.bytes.is_empty(), "{path} is still held");
        assert_eq!(file.sha256, held.sha256, "{path}");
        assert_eq!(file.size, held.bytes.len() as u64, "{path}");
        assert_eq!(&got[path], &held.bytes.to_vec(), "{path} streamed other bytes");
        assert_eq!(<[u8; 32]>::from(Sha256::digest(&got[path])), file.sha256, "{path}");
    }
    assert!(!memory.warnings.is_empty());
    assert_eq!(streamed.warnings, memory.warnings);
    assert!(
        streamed.warnings[0].to_string().contains("post-3.md:5:"),
        "{}",
        streamed.warnings[0]
    );
}

#[test]
fn a_build_that_fails_while_streaming_leaves_public_and_no_temporary_folder() {
    let site = TestSite::fixture("blog");
    site.cmd(&["build", "-q"]).assert().success();
    let before = snapshot_dir(&site.path("public"));
    // Every other page renders (and is streamed into the temporary folder) before or while
    // this one fails.
    site.write(
        "site/templates/broken.html",
        "{{ page.title }} {{ no_such_function() }}",
    );
    site.write(
        "site/content/posts/post-2.md",
        "+++\ntitle = \"Two\"\ndate = 2024-01-02\ntemplate = \"broken.html\"\n+++\nChanged.\n",
    );
    site.edit("site/content/docs/a.md", "First doc", "First doc, edited");
    let out = site.cmd(&["build"]).assert().failure().get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("broken.html"), "{stderr}");
    assert!(stderr.contains("the output folder was left as it was"), "{stderr}");
    assert_eq!(snapshot_dir(&site.path("public")), before);
    assert_no_temporary_folders(&site);
}

/// The output record beside `public/`: path → (sha256 hex, whether it vouches for the file as
/// it is now).
fn record(site: &TestSite) -> std::collections::BTreeMap<String, (String, bool)> {
    use sitegen::output::record::OutputRecord;
    let out = site.path("public");
    let r = OutputRecord::read(&out);
    snapshot_dir(&out)
        .keys()
        .filter_map(|rel| {
            let e = r.get(rel)?;
            let meta = std::fs::symlink_metadata(out.join(rel)).unwrap();
            Some((
                rel.clone(),
                (sitegen::paths::hex(&e.sha256), r.vouches(rel, &meta).is_some()),
            ))
        })
        .collect()
}

/// What the record should say of `files`: each one's sha256, vouched for.
fn vouched(files: &std::collections::BTreeMap<String, Vec<u8>>) -> std::collections::BTreeMap<String, (String, bool)> {
    files
        .iter()
        .map(|(rel, b)| (rel.clone(), (sha256_hex(b), true)))
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sitegen::paths::hex(&sha2::Sha256::digest(bytes))
}

#[test]
fn every_build_records_each_output_s_sha256_beside_the_output_folder() {
    let site = TestSite::fixture("blog");
    site.cmd(&["build", "-q"]).assert().success();
    let files = snapshot_dir(&site.path("public"));
    let expected = vouched(&files);
    assert_eq!(record(&site), expected);
    assert!(site.path(".public.sitegen-record").is_file());

    // A rebuild: the kept files are hard links to the old ones, with a new ctime (the link
    // and the old folder's removal changed it); the record follows.
    site.edit("site/content/docs/a.md", "First doc.", "First doc, edited.");
    site.cmd(&["build", "-q"]).assert().success();
    let files = snapshot_dir(&site.path("public"));
    let expected = vouched(&files);
    assert_eq!(record(&site), expected);

    // A corrupt record is no record: the next build compares bytes, as without one, keeps
    // every unchanged file and writes a good record again.
    let p = site.path(".public.sitegen-record");
    let mut bytes = std::fs::read(&p).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&p, bytes).unwrap();
    assert!(record(&site).is_empty());
    let inodes: Vec<u64> = files
        .keys()
        .map(|rel| std::fs::metadata(site.path("public").join(rel)).unwrap().ino())
        .collect();
    let out = site.cmd(&["build"]).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8(out)
        .unwrap()
        .contains(&format!("(0 written, {} unchanged, 0 removed)", files.len())));
    let again: Vec<u64> = files
        .keys()
        .map(|rel| std::fs::metadata(site.path("public").join(rel)).unwrap().ino())
        .collect();
    assert_eq!(again, inodes);
    assert_eq!(record(&site), expected);
}

#[test]
fn build_watch_keeps_the_record_current_file_by_file() {
    let site = TestSite::fixture("blog");
    let (mut child, mut lines) = site.watch();
    let watching = lines
        .find(|l| l.as_ref().unwrap().starts_with("Watching"))
        .unwrap()
        .unwrap();
    assert!(watching.starts_with("Watching"), "{watching}");
    std::thread::spawn(move || for _ in lines {});
    let current = |site: &TestSite| {
        let files = snapshot_dir(&site.path("public"));
        let expected: std::collections::BTreeMap<String, (String, bool)> = files
            .iter()
            .map(|(rel, b)| (rel.clone(), (sha256_hex(b), true)))
            .collect();
        record(site) == expected
    };
    assert!(current(&site));
    site.edit(
        "site/content/docs/a.md",
        "First doc.",
        "First doc, edited while watching.",
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let page = site.path("public/docs/a/index.html");
    let edited = || {
        std::fs::read_to_string(&page)
            .unwrap_or_default()
            .contains("edited while watching")
    };
    while !(edited() && current(&site)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(edited(), "the edit was never written");
    assert!(current(&site), "the record does not vouch for the output as written");
}
