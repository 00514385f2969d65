//! How a LIST of the target's prefix is cut into partitions that run at once (pure).
//!
//! A LIST page holds at most 1,000 keys and each page names the next, so a sequential
//! listing of N objects costs N/1,000 round trips one after the other. ListObjectsV2's
//! `StartAfter` starts a listing at any key, so the key space can be cut at boundaries known
//! before the first request and the pieces listed together. The boundaries come from the
//! local file list (the bucket normally holds what the output folder holds, plus sitegen's
//! own objects and what a publish is about to delete): after every [`PER_PARTITION`]th key,
//! a little under a page, so that a few keys the output lacks still fit in one page.
//!
//! Partition `i` holds the keys in `(boundary[i-1], boundary[i]]`: it lists from
//! `StartAfter = boundary[i-1]` (the first from the start of the prefix) and follows
//! continuation tokens while its pages end at or below `boundary[i]`, keeping only the keys
//! up to it (the last partition has no upper end). So a partition that holds more keys than
//! expected (a bucket with objects the output does not have) falls back to sequential pages
//! of its own, and the partitions' keys, in partition order, are exactly the keys of one
//! sequential listing, in the same order: each key falls in exactly one range.

use super::plan::PAGE;

/// Local keys per partition: a page, less 5% for the keys the bucket has and the output
/// does not (sitegen's own objects, files about to be deleted).
pub const PER_PARTITION: usize = PAGE - PAGE / 20;

/// Partitions listed at once.
pub const CONCURRENCY: usize = 16;

/// One range of the key space: the keys after `start_after` up to and including `last`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partition {
    /// `None`: from the start of the prefix.
    pub start_after: Option<String>,
    /// `None`: to the end of the prefix.
    pub last: Option<String>,
}

impl Partition {
    /// The whole prefix, listed page after page.
    pub fn all() -> Partition {
        Partition::default()
    }

    /// One page of this partition's listing (its keys sorted, as S3 returns them): how many
    /// of its first keys belong to the partition, and whether to ask for the next page.
    pub fn step(&self, keys: &[&str], truncated: bool) -> (usize, bool) {
        let Some(last) = self.last.as_deref() else {
            return (keys.len(), truncated);
        };
        let keep = keys.partition_point(|k| *k <= last);
        // The next page starts after this page's last key: it can hold keys of this
        // partition only if this page ended below the boundary.
        let more = truncated && keep == keys.len() && keys.last().is_none_or(|k| *k < last);
        (keep, more)
    }
}

/// The partitions for a bucket expected to hold `keys` (full keys, in any order): about
/// `per` keys each, as even as can be (`per == 0`, or fewer keys than `per`: one partition,
/// a sequential listing).
pub fn partitions<S: AsRef<str>>(keys: &[S], per: usize) -> Vec<Partition> {
    let mut sorted: Vec<&str> = keys.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let n = if per == 0 { 1 } else { sorted.len().div_ceil(per).max(1) };
    // Cut after the last key of each of the first n - 1 even shares.
    let cuts: Vec<&str> = (1..n).map(|i| sorted[i * sorted.len() / n - 1]).collect();
    let mut out = Vec::with_capacity(n);
    let mut start_after: Option<String> = None;
    for cut in cuts {
        out.push(Partition {
            start_after: start_after.take(),
            last: Some(cut.to_string()),
        });
        start_after = Some(cut.to_string());
    }
    out.push(Partition {
        start_after,
        last: None,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ListObjectsV2 over a sorted bucket, as S3 answers it: keys after `StartAfter` (or
    /// after the continuation token, here the last key returned), `max` at a time.
    fn page<'a>(bucket: &'a [String], after: Option<&str>, max: usize) -> (Vec<&'a str>, bool) {
        let from = after.map_or(0, |a| bucket.partition_point(|k| k.as_str() <= a));
        let keys: Vec<&str> = bucket[from..].iter().take(max).map(String::as_str).collect();
        (keys, from + max < bucket.len())
    }

    /// The keys each partition keeps, and the requests it took.
    fn list(bucket: &[String], parts: &[Partition], max: usize) -> (Vec<String>, usize) {
        let mut out = Vec::new();
        let mut requests = 0;
        for p in parts {
            let mut after = p.start_after.clone();
            loop {
                let (keys, truncated) = page(bucket, after.as_deref(), max);
                requests += 1;
                let (keep, more) = p.step(&keys, truncated);
                out.extend(keys[..keep].iter().map(|k| k.to_string()));
                if !more {
                    break;
                }
                after = keys.last().map(|k| k.to_string());
            }
        }
        (out, requests)
    }

    fn keys(names: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut v: Vec<String> = names.into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn few_keys_or_no_partitioning_is_one_sequential_listing() {
        assert_eq!(partitions::<String>(&[], 950), vec![Partition::all()]);
        assert_eq!(partitions(&["a", "b"], 950), vec![Partition::all()]);
        assert_eq!(partitions(&["a", "b", "c"], 0), vec![Partition::all()]);
    }

    #[test]
    fn cuts_are_even_sorted_and_cover_everything() {
        let local = ["e", "a", "d", "b", "c", "a"];
        let p = partitions(&local, 2);
        let range = |a: Option<&str>, l: Option<&str>| Partition {
            start_after: a.map(String::from),
            last: l.map(String::from),
        };
        assert_eq!(
            p,
            vec![
                range(None, Some("a")),
                range(Some("a"), Some("c")),
                range(Some("c"), None)
            ]
        );
    }

    #[test]
    fn the_union_of_the_partitions_is_the_sequential_listing() {
        let local = keys((0..3000).map(|i| format!("p/{i:05}")));
        // What the bucket may hold besides the local keys: sitegen's own objects, keys
        // before, between and after the local ones, a run of them far larger than a page.
        let extra = [
            ".sitegen-state.json",
            "p/",
            "p/00100-x",
            "p/00999/z",
            "p/zz",
            "q",
            "\u{10FFFF}",
        ];
        let buckets = [
            Vec::new(),
            local.clone(),
            keys(local.iter().cloned().chain(extra.iter().map(|s| s.to_string()))),
            keys(local.iter().step_by(7).cloned()),
            keys(
                (0..2500)
                    .map(|i| format!("p/00500-{i:05}"))
                    .chain(local.iter().cloned()),
            ),
            keys(extra.iter().map(|s| s.to_string())),
        ];
        for bucket in &buckets {
            let (sequential, pages) = list(bucket, &[Partition::all()], 1000);
            assert_eq!(&sequential, bucket);
            assert_eq!(pages, bucket.len().div_ceil(1000).max(1));
            for per in [1, 7, 100, 950, 5000] {
                for max in [1, 3, 1000] {
                    let (got, _) = list(bucket, &partitions(&local, per), max);
                    assert_eq!(&got, bucket, "per {per}, max {max}");
                }
            }
        }
    }

    #[test]
    fn a_bucket_that_matches_the_output_takes_one_page_per_partition() {
        let local = keys((0..10_000).map(|i| format!("{i:05}.html")));
        let mut bucket = local.clone();
        bucket.push(".sitegen-state.json".into());
        bucket.sort();
        let parts = partitions(&local, PER_PARTITION);
        assert_eq!(parts.len(), 11);
        let (got, requests) = list(&bucket, &parts, PAGE);
        assert_eq!(got, bucket);
        assert_eq!(requests, 11);
    }

    #[test]
    fn a_page_ending_at_the_boundary_ends_the_partition() {
        let p = Partition {
            start_after: None,
            last: Some("b".into()),
        };
        assert_eq!(p.step(&["a", "b"], true), (2, false));
        assert_eq!(p.step(&["a", "ab"], true), (2, true));
        assert_eq!(p.step(&["a", "c"], true), (1, false));
        assert_eq!(p.step(&["a"], false), (1, false));
        assert_eq!(p.step(&[], true), (0, true));
        assert_eq!(Partition::all().step(&["x"], true), (1, true));
    }
}
