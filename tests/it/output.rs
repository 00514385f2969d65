//! Writing to disk: atomic swap, failed builds leave `public/` alone, unchanged files are not
//! rewritten, and the same input gives the same bytes.

use std::os::unix::fs::MetadataExt;

use filetime::FileTime;

use crate::harness::{snapshot_dir, TestSite};

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
    let leftovers: Vec<_> = std::fs::read_dir(site.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sitegen"))
        .collect();
    assert!(leftovers.is_empty(), "temporary folders left behind: {leftovers:?}");
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
