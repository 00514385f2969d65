//! `sitegen init DIR`: a new site that builds at once with the theme embedded in the binary.

use std::path::Path;

use crate::error::Diagnostic;

/// The files of a new site: path → content.
pub const STARTER: &[(&str, &str)] = &[
    (
        "config.toml",
        r#"# The URL the site will be served from. `sitegen build --base-url` overrides it.
base_url = "https://example.com"
title = "My new site"
description = "Made with sitegen"

[[taxonomies]]
name = "tags"
feed = true

[markdown]
highlight_theme = "InspiredGitHub"

[extra]
author = "You"
"#,
    ),
    (
        "site/content/_index.md",
        r#"+++
title = "Welcome"
+++

This is the home page. Edit `site/content/_index.md`, then run `sitegen build` again.
"#,
    ),
    (
        "site/content/blog/_index.md",
        r#"+++
title = "Blog"
sort_by = "date"
paginate_by = 10
generate_feeds = true
+++
"#,
    ),
    (
        "site/content/blog/first-post.md",
        r#"+++
title = "My first post"
date = 2026-01-01
description = "What this site is about."
[taxonomies]
tags = ["hello"]
+++

Posts live in `site/content/blog/`. The text above `<!-- more -->` is the summary.

<!-- more -->

## Code

```rust
fn main() {
    println!("Hello from sitegen");
}
```

Link to other pages by their file: [the blog](@/blog/_index.md).
"#,
    ),
    ("site/static/.gitkeep", ""),
    ("site/data/.gitkeep", ""),
    (".gitignore", "/public\n/.sitegen\n/.public.sitegen-record\n"),
];

/// Writes the starter site; refuses a folder that already has files unless `force`.
pub fn init(dir: &Path, force: bool) -> Result<usize, Diagnostic> {
    let shown = dir.display().to_string();
    if dir.exists() {
        let has_files = std::fs::read_dir(dir)
            .map_err(|e| Diagnostic::new(&shown, format!("cannot read folder: {e}")))?
            .next()
            .is_some();
        if has_files && !force {
            return Err(Diagnostic::new(
                &shown,
                "folder is not empty; use `--force` to write the new site's files into it anyway",
            ));
        }
    }
    for (rel, content) in STARTER {
        let p = dir.join(rel);
        if p.exists() {
            return Err(Diagnostic::new(
                p.display().to_string(),
                "already exists; not overwriting it",
            ));
        }
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Diagnostic::new(parent.display().to_string(), format!("cannot create folder: {e}")))?;
        }
        std::fs::write(&p, content)
            .map_err(|e| Diagnostic::new(p.display().to_string(), format!("cannot write: {e}")))?;
    }
    Ok(STARTER.len())
}
