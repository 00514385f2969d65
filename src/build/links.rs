//! The link check: internal links in the rendered HTML that lead nowhere.

use std::collections::HashSet;

use rayon::prelude::*;

use super::BuildPlan;
use crate::config::Config;
use crate::error::Diagnostic;

/// Links inside the generated HTML (`href`/`src`) that point into the site but at no
/// output file. Plain links are the author's business, so these are warnings for `build`
/// and errors for `check`.
/// `planned` holds outputs the plan will have that it does not hold yet (processed images).
pub fn check_links(plan: &BuildPlan, planned: &HashSet<&str>, config: &Config, output_dir: &str) -> Vec<Diagnostic> {
    let base_path = config.base_path();
    let assets_base = config
        .assets_base_url
        .as_deref()
        .map(|b| b.trim_end_matches('/'))
        .filter(|b| !b.is_empty());
    plan.files
        .par_iter()
        .filter(|(p, _)| p.ends_with(".html"))
        .flat_map_iter(|(path, file)| {
            let text = String::from_utf8_lossy(&file.bytes);
            let mut out = Vec::new();
            for attr in crate::html::attributes(&text) {
                if attr.name != "href" && attr.name != "src" {
                    continue;
                }
                let url = &text[attr.value.clone()];
                // Assets may live under their own base URL, which maps to the output root.
                let local = if let Some(rest) = assets_base
                    .and_then(|b| url.strip_prefix(b))
                    .filter(|r| r.starts_with('/'))
                {
                    Some(rest.to_string())
                } else if let Some(rest) = url
                    .strip_prefix(config.base_url.as_str())
                    .filter(|_| config.base_url.starts_with("http"))
                {
                    Some(rest.to_string())
                } else if url.starts_with('/') && !url.starts_with("//") {
                    url.strip_prefix(base_path).map(String::from)
                } else {
                    None
                };
                let Some(local) = local else { continue };
                let local = local.split(['#', '?']).next().unwrap_or("");
                let local = if local.is_empty() { "/" } else { local };
                let decoded = crate::paths::percent_decode(local);
                let target = crate::paths::output_path(&decoded);
                let exists = plan.files.contains_key(&target)
                    || planned.contains(target.as_str())
                    || plan
                        .files
                        .contains_key(&format!("{}/index.html", target.trim_end_matches('/')));
                if !exists {
                    out.push(Diagnostic::new(
                        format!("{output_dir}/{path}"),
                        format!("broken internal link `{url}`: nothing is built at `{target}`"),
                    ));
                }
            }
            out
        })
        .collect()
}
