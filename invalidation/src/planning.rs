//! From the paths a person asked for to the invalidation batches to create.
//!
//! [`plan`] is a pure function: it normalizes every path the way CloudFront expects it, drops
//! repeats and paths that a wildcard in the same request already covers, optionally collapses
//! many file paths into directory wildcards, and splits what is left into [`Batch`]es that each
//! fit CloudFront's in-progress limits. Its output depends only on the *set* of requested paths
//! and the options, never on their order, so a retried step plans the same batches and can
//! derive each batch's CallerReference from its index.
//!
//! The rules come from the CloudFront Developer Guide, "What you need to know when invalidating
//! files" (Invalidation paths; Non-ASCII or unsafe characters in the path), "Concurrent
//! invalidation request maximum" and "Paying for file invalidation":
//! - a path starts with `/` ("When you use the CloudFront API directly, invalidation paths must
//!   begin with a leading slash"); the console lets people omit it, so [`normalize`] adds it;
//! - paths are case sensitive: `/images/image.jpg` and `/images/Image.jpg` are two files;
//! - "The `*`, which replaces 0 or more characters, must be the last character in the
//!   invalidation path", and it matches `/` too: `/img/*` covers `/img/a/b.png` and `/img/a/*`;
//! - "The maximum length of a path is 4,000 characters";
//! - "If the path includes non-ASCII characters or unsafe characters as defined in RFC 1738,
//!   URL-encode those characters. Do not URL-encode any other characters in the path, or
//!   CloudFront will not invalidate the old version of the updated file." (The guide's text says
//!   "RFC 1783" but links RFC 1738.) RFC 1738 section 2.2 names the unsafe characters: space,
//!   `<`, `>`, `"`, `#`, `%`, `{`, `}`, `|`, `\`, `^`, `~`, `[`, `]` and `` ` ``;
//! - at most 3,000 file paths and 15 wildcard paths may be in progress per distribution, "the
//!   maximum on wildcard invalidation requests allowed is independent of the maximum on
//!   invalidating files individually";
//! - "The first 1,000 invalidation paths that you submit per month are free; you pay for each
//!   invalidation path over 1,000 in a month", and "A path that includes the `*` wildcard
//!   counts as one path even if it causes CloudFront to invalidate thousands of files".
//!
//! An item that starts with `#` is a cache tag, not a path (CloudFront, April 2026; the rules
//! and their sources are at [`check_tag`] and in docs/design.md's Cache tags section): it is
//! checked, de-duplicated without regard to case and otherwise kept as written, never covered
//! nor collapsed, and counted as one file path in a batch.
//!
//! # Worked example
//! The test `worked_example_for_the_readme` plans, with [`PlanOptions::default`], these 158
//! paths: `index.html`, `/index.html`, `/css//site.css`, `/img/*`, `/img/logo.png`,
//! `/img/icons/*`, `/docs/Getting Started.html`, `/docs/café.html` and the 150 build outputs
//! `/assets/chunk-000.js` … `/assets/chunk-149.js`.
//! ```text
//! 158 requested
//!   - 1 repeat            index.html and /index.html are one path once normalized
//!   - 2 covered by /img/* /img/logo.png and /img/icons/*
//!   154 file paths > 100  so /assets/* replaces the 150 files of /assets/
//! =   6 planned paths     /assets/*  /css/site.css  /docs/Getting%20Started.html
//!                         /docs/caf%C3%A9.html  /img/*  /index.html
//!     1 batch             4 file paths, 2 wildcards
//!     $0.03               6 × $0.005 once the month's 1,000 free paths are used
//!                         (the 155 paths without the collapse would cost $0.775)
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{shorten, WorkflowError};
use crate::limits::{
    is_wildcard, MAX_FILE_PATHS, MAX_PATH_LENGTH, MAX_TAG_LENGTH, MAX_WILDCARD_PATHS,
};

/// The default of [`PlanOptions::collapse_above`]; see there for why.
pub const DEFAULT_COLLAPSE_ABOVE: usize = 100;
/// What CloudFront charges for each invalidation path past the month's free ones, in US dollars.
pub const PRICE_PER_PATH_USD: f64 = 0.005;
/// How many invalidation paths an AWS account may submit each month without charge, across all
/// of its distributions.
pub const FREE_PATHS_PER_MONTH: usize = 1000;

/// How [`plan`] trades precision for fewer paths, and the limits each batch must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanOptions {
    /// Collapse when more than this many file paths are left once repeats and covered paths
    /// are dropped; `None` never collapses. See [`plan`] for how.
    ///
    /// The default is `Some(100)` ([`DEFAULT_COLLAPSE_ABOVE`]). Each path past the account's
    /// 1,000 free ones a month costs $0.005 whether it names one file or `/*`, so precision is
    /// what costs money: one run of 3,000 file paths costs $15, the same run collapsed into a
    /// few directory wildcards costs cents. The price of collapsing is cache misses: the
    /// unchanged files of a collapsed directory are fetched from the origin once more, which
    /// for an S3 or similar origin costs far less than $0.005 a file, and only adds latency to
    /// their first request. Collapsing starts with the directory that holds the most of the
    /// requested files, which after a build usually means most of its files changed anyway.
    /// At 100, a run of any size submits at most 100 file paths besides its wildcards (50 cents
    /// past the free tier), the 1,000 free paths of a month still cover about eight such runs,
    /// and the short lists that people write by hand stay exactly as given.
    pub collapse_above: Option<usize>,
    /// The most file paths one batch may hold: CloudFront allows 3,000 in progress per
    /// distribution ([`MAX_FILE_PATHS`]).
    pub max_file_paths: usize,
    /// The most wildcard paths one batch may hold: CloudFront allows 15 in progress per
    /// distribution ([`MAX_WILDCARD_PATHS`]), counted apart from the file paths.
    pub max_wildcards: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            collapse_above: Some(DEFAULT_COLLAPSE_ABOVE),
            max_file_paths: MAX_FILE_PATHS,
            max_wildcards: MAX_WILDCARD_PATHS,
        }
    }
}

/// What [`plan`] decided: the paths to invalidate, in batches, and what became of the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// How many paths were requested, repeats included.
    pub requested: usize,
    /// The items to invalidate, paths and cache tags, normalized, sorted and without repeats:
    /// every item of [`Plan::batches`] once.
    pub paths: Vec<String>,
    /// How many of [`Plan::paths`] are cache tags (`#…`).
    #[serde(default)]
    pub tags: usize,
    /// The invalidations to create, in order; each keeps [`PlanOptions`]' limits.
    pub batches: Vec<Batch>,
    /// Requested paths that were the same as an earlier one once normalized.
    pub duplicates: usize,
    /// Requested paths (files or narrower wildcards) dropped because a wildcard of the same
    /// request already covers them.
    pub dropped_as_covered: usize,
    /// The wildcards that replaced many file paths, in the order they were chosen; empty when
    /// nothing was collapsed.
    pub collapsed: Vec<Collapse>,
}

/// One invalidation to create: paths that fit CloudFront's in-progress limits together.
///
/// Batches are built to be created one after another, each once the one before has
/// completed: two batches that are full to the limits cannot be in progress at the same time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    /// The batch's items, paths and cache tags, sorted.
    pub paths: Vec<String>,
}

impl Batch {
    /// The items that count against the 3,000 file-path limit: paths that name single files,
    /// and cache tags (CloudFront counts each tag as one path, and a tag is no wildcard).
    pub fn file_paths(&self) -> impl Iterator<Item = &str> + '_ {
        self.paths
            .iter()
            .map(String::as_str)
            .filter(|path| !is_wildcard(path))
    }

    /// The cache tags (`#…`).
    pub fn tags(&self) -> impl Iterator<Item = &str> + '_ {
        self.paths
            .iter()
            .map(String::as_str)
            .filter(|item| is_tag(item))
    }

    /// The paths that end in `*`, which count against the separate limit of 15.
    pub fn wildcards(&self) -> impl Iterator<Item = &str> + '_ {
        self.paths
            .iter()
            .map(String::as_str)
            .filter(|path| is_wildcard(path))
    }
}

/// A wildcard that [`plan`] put in place of many paths to keep a run small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collapse {
    /// The wildcard that was added, such as `/assets/*`, or `/*` as the last resort.
    pub wildcard: String,
    /// How many paths it replaced: the files it covers, and any narrower wildcards.
    pub replaced: usize,
}

/// The form CloudFront expects of one path, or why the path cannot be fixed.
///
/// In this order:
/// 1. An empty path, one with a control character (almost always a pasted line break; XML,
///    which carries the API call, cannot hold most of them), and one with `*` anywhere but at
///    its end are rejected.
/// 2. A missing leading `/` is added, as the CloudFront console does.
/// 3. Repeated slashes are collapsed into one, in the part before any `?` only: a query string
///    such as `?next=https://…` is the origin's business.
/// 4. Exactly the characters CloudFront says must be encoded are percent-encoded, as the UTF-8
///    bytes of the character in uppercase hex: every non-ASCII character, and the RFC 1738
///    unsafe characters space `<` `>` `"` `#` `%` `{` `}` `|` `\` `^` `~` `[` `]` `` ` ``.
///    A `%` that already starts a valid escape (`%` and two hex digits) is kept as written,
///    case included, so nothing is encoded twice; a `%` that does not becomes `%25`. Reserved
///    characters such as `?`, `&`, `=`, `+`, `:` and `@` are left alone: encoding them would
///    name another object, and the invalidation would silently miss the cached one.
/// 5. A result longer than 4,000 characters is rejected.
///
/// Errors are [`crate::ErrorKind::InvalidInput`] and quote the path as given.
pub fn normalize(path: &str) -> Result<String, WorkflowError> {
    let reject = |problem: String| {
        Err(WorkflowError::invalid_input(format!(
            "path `{}` {problem}",
            shorten(path).escape_debug()
        )))
    };
    if path.is_empty() {
        return reject("is empty: name a file such as /index.html, or /* for everything".into());
    }
    if path.chars().any(char::is_control) {
        return reject("holds a control character".into());
    }
    if path.find('*').is_some_and(|at| at != path.len() - 1) {
        return reject("may hold * only as its last character".into());
    }
    let (before_query, query) = path.split_at(path.find('?').unwrap_or(path.len()));
    let mut slashed = String::with_capacity(path.len() + 1);
    if !path.starts_with('/') {
        slashed.push('/');
    }
    for c in before_query.chars() {
        if !(c == '/' && slashed.ends_with('/')) {
            slashed.push(c);
        }
    }
    slashed.push_str(query);
    let encoded = percent_encode(&slashed);
    if encoded.len() > MAX_PATH_LENGTH {
        return reject(format!(
            "is {} characters long once encoded, more than CloudFront's {MAX_PATH_LENGTH}",
            encoded.len()
        ));
    }
    Ok(encoded)
}

/// What a cache tag item starts with: `#product-123` invalidates every object cached with the
/// tag `product-123` (the distribution's `CacheTagConfig` names the header that carries tags).
pub const TAG_MARK: char = '#';
/// Whether an invalidation item is a cache tag rather than a path.
pub fn is_tag(item: &str) -> bool {
    item.starts_with(TAG_MARK)
}

/// A cache tag item as CloudFront takes it, which is as written, or why it cannot be one.
///
/// CloudFront's developer guide (Invalidate content by cache tag): a tag item begins with `#`;
/// a tag holds only ASCII visible characters (33–126) and no comma, at most 256 of them; tags
/// take no `*` wildcard (each item matches the exact tag). Nothing is percent-encoded: the item
/// goes in `Paths.Items` as it is, and adding a `/` would make it a path that matches nothing.
/// A `*` is refused rather than sent: a person who writes `#product-*` means a wildcard that
/// tags do not have, and the run would otherwise succeed without invalidating anything.
pub fn check_tag(item: &str) -> Result<String, WorkflowError> {
    let tag = &item[TAG_MARK.len_utf8()..];
    let reject = |problem: String| {
        Err(WorkflowError::invalid_input(format!(
            "cache tag `{}` {problem}",
            shorten(item).escape_debug()
        )))
    };
    if tag.is_empty() {
        return reject("is empty: name the tag after the #, such as #product-123".into());
    }
    if let Some(bad) = tag.chars().find(|c| !('!'..='~').contains(c)) {
        return reject(format!(
            "holds {}, which CloudFront does not allow in a tag (ASCII letters, digits and \
             punctuation only)",
            match bad {
                ' ' => "a space".to_owned(),
                c if c.is_control() => "a control character".to_owned(),
                c => format!("`{c}`"),
            }
        ));
    }
    if tag.contains(',') {
        return reject("holds a comma, which CloudFront does not allow in a tag".into());
    }
    if tag.contains('*') {
        return reject(
            "holds *: CloudFront matches cache tags exactly and takes no wildcard in them".into(),
        );
    }
    if tag.len() > MAX_TAG_LENGTH {
        return reject(format!(
            "is {} characters long, more than CloudFront's {MAX_TAG_LENGTH}",
            tag.len()
        ));
    }
    Ok(item.to_owned())
}

/// "3 paths", "1 cache tag", "2 paths and 1 cache tag": the planned items as a person counts
/// them, tags apart from paths.
pub fn items_named(paths: usize, tags: usize) -> String {
    let count = |n: usize, one: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    };
    match (paths, tags) {
        (paths, 0) => count(paths, "path"),
        (0, tags) => count(tags, "cache tag"),
        (paths, tags) => format!("{} and {}", count(paths, "path"), count(tags, "cache tag")),
    }
}

/// Whether invalidating `wildcard` also invalidates `path` (a file or another wildcard).
///
/// CloudFront's `*` replaces zero or more characters, `/` included, so this is a plain prefix
/// test: `/img/*` covers `/img/`, `/img/a.png`, `/img/a/b.png` and `/img/a/*`, and `/img*` also
/// covers `/img` and `/img-2x/a.png`. A path that does not end in `*` covers nothing. Compare
/// normalized paths: the test is case sensitive and byte for byte, as CloudFront's is.
pub fn covers(wildcard: &str, path: &str) -> bool {
    wildcard
        .strip_suffix('*')
        .is_some_and(|prefix| path.starts_with(prefix))
}

/// What `paths` invalidation paths cost, in US dollars, at $0.005 a path.
///
/// This assumes the account already used the month's 1,000 free paths, which are shared by all
/// its distributions and pipelines: the real bill of one run is between zero and this. A
/// wildcard counts as one path, even `/*`.
pub fn estimated_cost_usd(paths: usize) -> f64 {
    paths as f64 * PRICE_PER_PATH_USD
}

/// The batches that invalidate every requested path, within the options' limits.
///
/// 1. Every path is [`normalize`]d; the first that cannot be fixed fails the whole plan.
///    Repeats are dropped and counted in [`Plan::duplicates`].
/// 2. Every path covered by another wildcard of the request is dropped (see [`covers`]),
///    narrower wildcards included, and counted in [`Plan::dropped_as_covered`].
/// 3. When [`PlanOptions::collapse_above`] is `Some(n)` and more than `n` file paths are
///    left, directories are collapsed, one at a time, until at most `n` are left:
///    - a file's directory is its path up to and including the last `/` before any `?`;
///      the root `/` is never one (collapsing it is the last resort below);
///    - the directory that holds the most of the remaining files directly (ties: the one that
///      sorts first) is replaced by `directory*`, which also replaces every remaining file or
///      wildcard below it; a directory that holds a single file directly is never chosen
///      (one wildcard for one file saves nothing; its subdirectories are candidates of their
///      own);
///    - when no directory holds two files any more, or the next wildcard would make more
///      than [`PlanOptions::max_wildcards`] wildcards (more than one batch's worth), every
///      directory collapse is given up and the plan is the single path `/*`.
///
///    Each collapse is recorded in [`Plan::collapsed`].
/// 4. The sorted paths are split into the fewest batches that keep both limits: batch `i`
///    takes the `i`-th run of [`PlanOptions::max_file_paths`] file paths and the `i`-th run of
///    [`PlanOptions::max_wildcards`] wildcards.
///
/// The result depends on the set of requested paths only, not on their order or repeats, and
/// planning [`Plan::paths`] again gives the same paths.
pub fn plan(requested: &[String], options: &PlanOptions) -> Result<Plan, WorkflowError> {
    if options.max_file_paths == 0 || options.max_wildcards == 0 {
        return Err(WorkflowError::invalid_input(format!(
            "a batch must be able to hold at least one file path and one wildcard, not {} and {}",
            options.max_file_paths, options.max_wildcards
        )));
    }
    if requested.is_empty() {
        return Err(WorkflowError::invalid_input(
            "no paths to plan: name at least one path, such as /*",
        ));
    }
    let (tag_items, path_items): (Vec<&String>, Vec<&String>) =
        requested.iter().partition(|item| is_tag(item));
    // Tags are compared as CloudFront compares them, without regard to case; of the spellings
    // of one tag the plan keeps the one that sorts first, so it depends on the set alone.
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    for item in &tag_items {
        let tag = check_tag(item)?;
        let kept = tags
            .entry(tag.to_ascii_lowercase())
            .or_insert_with(|| tag.clone());
        if tag < *kept {
            *kept = tag;
        }
    }
    let mut unique = BTreeSet::new();
    for path in &path_items {
        unique.insert(normalize(path)?);
    }
    let duplicates = path_items.len() - unique.len() + tag_items.len() - tags.len();
    let (kept, dropped_as_covered) = without_covered(unique);
    let (paths, collapsed) = match options.collapse_above {
        // Never above what one batch holds beside the tags (each counts as a file path), so a
        // collapsed plan is one invalidation.
        Some(threshold) => collapse(
            kept,
            threshold.min(options.max_file_paths.saturating_sub(tags.len())),
            options.max_wildcards,
        ),
        None => (kept, Vec::new()),
    };
    // Tags are never covered by a wildcard nor collapsed: a path wildcard matches URLs, a tag
    // matches the objects that carry it, wherever they are.
    let tag_count = tags.len();
    let mut paths = paths;
    paths.extend(tags.into_values());
    paths.sort_unstable();
    let batches = into_batches(&paths, options);
    Ok(Plan {
        requested: requested.len(),
        paths,
        tags: tag_count,
        batches,
        duplicates,
        dropped_as_covered,
        collapsed,
    })
}

/// Drops every path that another wildcard of the set covers; returns the rest, sorted, and how
/// many were dropped.
fn without_covered(paths: BTreeSet<String>) -> (Vec<String>, usize) {
    let prefixes = WildcardPrefixes::minimal(paths.iter().map(String::as_str));
    let kept: Vec<String> = paths
        .iter()
        .filter(|path| match prefixes.covering(path) {
            None => true,
            // A wildcard is "covered" by its own prefix; it stays when it is that prefix's own.
            Some(prefix) => is_wildcard(path) && path.len() == prefix.len() + 1,
        })
        .cloned()
        .collect();
    let dropped = paths.len() - kept.len();
    (kept, dropped)
}

/// The prefixes of a set of wildcards, without those that a shorter one already covers, so
/// that no prefix starts another.
struct WildcardPrefixes<'a> {
    sorted: Vec<&'a str>,
}

impl<'a> WildcardPrefixes<'a> {
    fn minimal(paths: impl Iterator<Item = &'a str>) -> Self {
        let mut all: Vec<&str> = paths.filter_map(|path| path.strip_suffix('*')).collect();
        all.sort_unstable();
        all.dedup();
        // Every string that starts with a prefix sorts right after it, before any string
        // that does not: so a prefix is covered if and only if it starts with the last kept.
        let mut sorted: Vec<&str> = Vec::with_capacity(all.len());
        for prefix in all {
            if !sorted.last().is_some_and(|kept| prefix.starts_with(kept)) {
                sorted.push(prefix);
            }
        }
        Self { sorted }
    }

    /// The prefix that `path` starts with, if any. Only the greatest prefix that sorts before
    /// `path` can be one: any prefix between a prefix of `path` and `path` would start with
    /// that prefix, and minimal prefixes do not start one another.
    fn covering(&self, path: &str) -> Option<&'a str> {
        let after = self.sorted.partition_point(|prefix| *prefix <= path);
        after
            .checked_sub(1)
            .map(|at| self.sorted[at])
            .filter(|prefix| path.starts_with(prefix))
    }
}

/// Step 3 of [`plan`]: directory wildcards in place of many files, or `/*`.
///
/// While more than `threshold` file paths remain, the directory holding the most of them (on a
/// tie, the one that sorts first) becomes a wildcard. The counts are kept up to date as paths
/// go rather than counted again each time, and what a wildcard covers is read as the run of
/// sorted paths that start with its directory, so 100,000 paths in hundreds of directories
/// plan in a fraction of a second.
fn collapse(
    paths: Vec<String>,
    threshold: usize,
    max_wildcards: usize,
) -> (Vec<String>, Vec<Collapse>) {
    let mut current: BTreeSet<String> = paths.iter().cloned().collect();
    let mut files_in = DirectoryCounts::default();
    let mut files = 0;
    let mut wildcards = 0;
    for path in &current {
        if is_wildcard(path) {
            wildcards += 1;
        } else {
            files += 1;
            files_in.add(path);
        }
    }
    let mut collapses = Vec::new();
    while files > threshold {
        let Some(directory) = files_in.most() else {
            break;
        };
        let wildcard = format!("{directory}*");
        // Every path the wildcard covers starts with its directory, so they sort together
        // right after it.
        let replaced: Vec<String> = current
            .range::<str, _>((
                std::ops::Bound::Included(directory.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|path| covers(&wildcard, path))
            .cloned()
            .collect();
        let replaced_wildcards = replaced.iter().filter(|path| is_wildcard(path)).count();
        if wildcards - replaced_wildcards + 1 > max_wildcards {
            break;
        }
        for path in &replaced {
            current.remove(path);
            if is_wildcard(path) {
                wildcards -= 1;
            } else {
                files -= 1;
                files_in.remove(path);
            }
        }
        collapses.push(Collapse {
            wildcard: wildcard.clone(),
            replaced: replaced.len(),
        });
        current.insert(wildcard);
        wildcards += 1;
    }
    if files <= threshold {
        return (current.into_iter().collect(), collapses);
    }
    let everything = "/*".to_owned();
    let collapse = Collapse {
        wildcard: everything.clone(),
        replaced: paths.len(),
    };
    (vec![everything], vec![collapse])
}

/// How many file paths each directory holds, ordered so the one holding the most (on a tie, the
/// one that sorts first) is at hand.
#[derive(Default)]
struct DirectoryCounts {
    count: BTreeMap<String, usize>,
    /// (count, directory), fullest first.
    ranked: BTreeSet<(std::cmp::Reverse<usize>, String)>,
}

impl DirectoryCounts {
    fn add(&mut self, path: &str) {
        self.change(path, |count| count + 1);
    }

    fn remove(&mut self, path: &str) {
        self.change(path, |count| count.saturating_sub(1));
    }

    fn change(&mut self, path: &str, by: impl Fn(usize) -> usize) {
        let Some(directory) = directory_of(path) else {
            return;
        };
        let count = self.count.entry(directory.to_owned()).or_default();
        self.ranked
            .remove(&(std::cmp::Reverse(*count), directory.to_owned()));
        *count = by(*count);
        if *count > 0 {
            self.ranked
                .insert((std::cmp::Reverse(*count), directory.to_owned()));
        }
    }

    /// The directory holding the most file paths, if one holds two or more: collapsing a
    /// single file saves nothing.
    fn most(&self) -> Option<String> {
        self.ranked
            .first()
            .filter(|(std::cmp::Reverse(count), _)| *count >= 2)
            .map(|(_, directory)| directory.clone())
    }
}

/// The directory a file path is in, with its trailing `/`, or `None` for the root.
fn directory_of(path: &str) -> Option<&str> {
    let before_query = &path[..path.find('?').unwrap_or(path.len())];
    let end = before_query.rfind('/')? + 1;
    (end > 1).then(|| &path[..end])
}

/// Step 4 of [`plan`]: the fewest batches that keep both limits.
fn into_batches(paths: &[String], options: &PlanOptions) -> Vec<Batch> {
    let (wildcards, files): (Vec<&String>, Vec<&String>) =
        paths.iter().partition(|path| is_wildcard(path));
    let mut file_runs = files.chunks(options.max_file_paths);
    let mut wildcard_runs = wildcards.chunks(options.max_wildcards);
    let mut batches = Vec::new();
    loop {
        let mut batch: Vec<String> = match (file_runs.next(), wildcard_runs.next()) {
            (None, None) => return batches,
            (files, wildcards) => files
                .unwrap_or_default()
                .iter()
                .chain(wildcards.unwrap_or_default())
                .map(|path| path.to_string())
                .collect(),
        };
        batch.sort_unstable();
        batches.push(Batch { paths: batch });
    }
}

/// Percent-encodes what CloudFront says must be encoded, and nothing else (see [`normalize`]).
fn percent_encode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte == b'%'
            && bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            // An escape someone already wrote: encoding its % would name another object.
            out.push_str(&text[at..at + 3]);
            at += 3;
            continue;
        }
        if byte >= 0x80 || is_rfc1738_unsafe(byte) {
            let _ = write!(out, "%{byte:02X}");
        } else {
            out.push(char::from(byte));
        }
        at += 1;
    }
    out
}

/// The characters RFC 1738 section 2.2 calls unsafe ("All unsafe characters must always be
/// encoded within a URL").
fn is_rfc1738_unsafe(byte: u8) -> bool {
    matches!(
        byte,
        b' ' | b'<'
            | b'>'
            | b'"'
            | b'#'
            | b'%'
            | b'{'
            | b'}'
            | b'|'
            | b'\\'
            | b'^'
            | b'~'
            | b'['
            | b']'
            | b'`'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn strings(paths: &[&str]) -> Vec<String> {
        paths.iter().map(|path| path.to_string()).collect()
    }

    fn planned(paths: &[&str], options: &PlanOptions) -> Plan {
        plan(&strings(paths), options).expect("the paths should plan")
    }

    fn rejection(path: &str) -> String {
        let error = normalize(path).expect_err("the path should be rejected");
        assert_eq!(error.name(), "InvalidInput");
        error.message
    }

    const NO_COLLAPSE: PlanOptions = PlanOptions {
        collapse_above: None,
        max_file_paths: MAX_FILE_PATHS,
        max_wildcards: MAX_WILDCARD_PATHS,
    };

    #[test]
    fn cache_tags_are_planned_as_written_beside_paths() {
        let plan = planned(
            &[
                "#product-123",
                "/a.html",
                "index.html",
                "#Product-123",
                "#brand:acme",
                "/img/*",
            ],
            &PlanOptions::default(),
        );
        // Sorted: tags first (`#` sorts before `/`); the two spellings of one tag are one.
        assert_eq!(
            plan.paths,
            [
                "#Product-123",
                "#brand:acme",
                "/a.html",
                "/img/*",
                "/index.html"
            ]
        );
        assert_eq!(plan.tags, 2);
        assert_eq!(plan.duplicates, 1);
        assert_eq!(plan.batches.len(), 1);
        assert_eq!(plan.batches[0].tags().count(), 2);
        // A tag counts as one path against the 3,000: no wildcard.
        assert_eq!(plan.batches[0].file_paths().count(), 4);
    }

    #[test]
    fn a_tag_is_never_covered_nor_collapsed() {
        let mut requested: Vec<String> = (0..150).map(|i| format!("/f/{i}.html")).collect();
        requested.push("#release-42".into());
        requested.push("/*".into());
        let plan = plan(&requested, &PlanOptions::default()).unwrap();
        assert_eq!(plan.paths, ["#release-42", "/*"]);
    }

    #[test]
    fn bad_tags_are_named_with_the_rule_they_break() {
        let long = format!("#{}", "t".repeat(257));
        let cases = [
            ("#", "cache tag `#` is empty: name the tag after the #, such as #product-123"),
            ("#a b", "cache tag `#a b` holds a space, which CloudFront does not allow in a tag (ASCII letters, digits and punctuation only)"),
            ("#café", "cache tag `#café` holds `é`, which CloudFront does not allow in a tag (ASCII letters, digits and punctuation only)"),
            ("#a\tb", "cache tag `#a\\tb` holds a control character, which CloudFront does not allow in a tag (ASCII letters, digits and punctuation only)"),
            ("#a,b", "cache tag `#a,b` holds a comma, which CloudFront does not allow in a tag"),
            ("#product-*", "cache tag `#product-*` holds *: CloudFront matches cache tags exactly and takes no wildcard in them"),
        ];
        for (tag, message) in cases {
            let error = plan(&strings(&[tag]), &PlanOptions::default()).unwrap_err();
            assert_eq!(error.name(), "InvalidInput");
            assert_eq!(error.message, message);
        }
        let error = plan(&[long], &PlanOptions::default()).unwrap_err();
        assert!(
            error
                .message
                .ends_with("is 257 characters long, more than CloudFront's 256"),
            "{}",
            error.message
        );
        assert!(check_tag(&format!("#{}", "t".repeat(256))).is_ok());
    }

    #[test]
    fn worked_example_for_the_readme() {
        let mut requested = strings(&[
            "index.html",
            "/index.html",
            "/css//site.css",
            "/img/*",
            "/img/logo.png",
            "/img/icons/*",
            "/docs/Getting Started.html",
            "/docs/café.html",
        ]);
        requested.extend((0..150).map(|i| format!("/assets/chunk-{i:03}.js")));
        let plan = plan(&requested, &PlanOptions::default()).unwrap();

        assert_eq!(plan.requested, 158);
        assert_eq!(plan.duplicates, 1);
        assert_eq!(plan.dropped_as_covered, 2);
        assert_eq!(
            plan.collapsed,
            [Collapse {
                wildcard: "/assets/*".into(),
                replaced: 150
            }]
        );
        assert_eq!(
            plan.paths,
            [
                "/assets/*",
                "/css/site.css",
                "/docs/Getting%20Started.html",
                "/docs/caf%C3%A9.html",
                "/img/*",
                "/index.html",
            ]
        );
        assert_eq!(plan.batches.len(), 1);
        assert_eq!(plan.batches[0].file_paths().count(), 4);
        assert_eq!(plan.batches[0].wildcards().count(), 2);
        assert!((estimated_cost_usd(plan.paths.len()) - 0.03).abs() < 1e-9);

        let without_collapse = super::plan(&requested, &NO_COLLAPSE).unwrap();
        assert_eq!(without_collapse.paths.len(), 155);
        assert!((estimated_cost_usd(without_collapse.paths.len()) - 0.775).abs() < 1e-9);
    }

    #[test]
    fn img_wildcard_covers_its_files() {
        assert!(covers("/img/*", "/img/logo.png"));
        assert!(covers("/img/*", "/img/"));
        assert!(covers("/img/*", "/img/icons/a.png"));
        assert!(!covers("/img/*", "/img"));
        assert!(!covers("/img/*", "/images/logo.png"));
        let plan = planned(&["/img/*", "/img/logo.png", "/index.html"], &NO_COLLAPSE);
        assert_eq!(plan.paths, ["/img/*", "/index.html"]);
        assert_eq!(plan.dropped_as_covered, 1);
    }

    #[test]
    fn broader_wildcards_cover_narrower_ones() {
        assert!(covers("/img/*", "/img/a/*"));
        assert!(covers("/*", "/img/*"));
        assert!(!covers("/img/a/*", "/img/*"));
        let plan = planned(&["/img/a/*", "/img/*", "/img/a/b/*", "/img*"], &NO_COLLAPSE);
        assert_eq!(plan.paths, ["/img*"]);
        assert_eq!(plan.dropped_as_covered, 3);
    }

    #[test]
    fn a_wildcard_matches_any_characters_after_its_prefix() {
        assert!(covers("/img*", "/img"));
        assert!(covers("/img*", "/img-2x/logo.png"));
        assert!(covers("/images/image.jpg*", "/images/image.jpg?size=2"));
    }

    #[test]
    fn a_file_path_covers_nothing_not_even_itself() {
        assert!(!covers("/index.html", "/index.html"));
        assert!(!covers("/img/", "/img/a.png"));
    }

    #[test]
    fn paths_are_case_sensitive() {
        assert!(!covers("/Img/*", "/img/a.png"));
        let plan = planned(&["/img/a.png", "/Img/a.png", "/img/A.png"], &NO_COLLAPSE);
        assert_eq!(plan.paths, ["/Img/a.png", "/img/A.png", "/img/a.png"]);
    }

    #[test]
    fn a_missing_leading_slash_is_added() {
        assert_eq!(normalize("index.html").unwrap(), "/index.html");
        assert_eq!(normalize("*").unwrap(), "/*");
        assert_eq!(normalize("?v=1").unwrap(), "/?v=1");
    }

    #[test]
    fn repeated_slashes_are_collapsed_before_the_query_only() {
        assert_eq!(normalize("//a///b.html").unwrap(), "/a/b.html");
        assert_eq!(normalize("/img//*").unwrap(), "/img/*");
        assert_eq!(
            normalize("/go//to?next=https://example.com//a").unwrap(),
            "/go/to?next=https://example.com//a"
        );
    }

    #[test]
    fn space_and_non_ascii_are_percent_encoded() {
        assert_eq!(normalize("/a b.html").unwrap(), "/a%20b.html");
        assert_eq!(normalize("/café.html").unwrap(), "/caf%C3%A9.html");
        assert_eq!(normalize("/日本/*").unwrap(), "/%E6%97%A5%E6%9C%AC/*");
    }

    #[test]
    fn every_rfc_1738_unsafe_character_is_encoded_in_uppercase_hex() {
        let cases = [
            (" ", "%20"),
            ("<", "%3C"),
            (">", "%3E"),
            ("\"", "%22"),
            ("#", "%23"),
            ("%", "%25"),
            ("{", "%7B"),
            ("}", "%7D"),
            ("|", "%7C"),
            ("\\", "%5C"),
            ("^", "%5E"),
            ("~", "%7E"),
            ("[", "%5B"),
            ("]", "%5D"),
            ("`", "%60"),
        ];
        for (raw, encoded) in cases {
            assert_eq!(
                normalize(&format!("/a{raw}b")).unwrap(),
                format!("/a{encoded}b")
            );
        }
    }

    #[test]
    fn reserved_and_other_safe_characters_are_left_alone() {
        let path = "/a-b_c.d/$&+,:;=@!'()/x.html?q=1&r=a+b";
        assert_eq!(normalize(path).unwrap(), path);
    }

    #[test]
    fn existing_escapes_are_not_encoded_twice() {
        assert_eq!(normalize("/a%20b.html").unwrap(), "/a%20b.html");
        assert_eq!(normalize("/caf%C3%A9.html").unwrap(), "/caf%C3%A9.html");
        // Kept as written: CloudFront compares paths byte for byte.
        assert_eq!(normalize("/a%2fb").unwrap(), "/a%2fb");
        // A % that starts no escape is a literal percent sign.
        assert_eq!(normalize("/100%.html").unwrap(), "/100%25.html");
        assert_eq!(normalize("/%zz").unwrap(), "/%25zz");
        assert_eq!(normalize("/a%2").unwrap(), "/a%252");
        for path in ["/a b%20c~", "/café%", "x//y z*"] {
            let once = normalize(path).unwrap();
            assert_eq!(normalize(&once).unwrap(), once, "{path}");
        }
    }

    #[test]
    fn a_star_before_the_end_is_rejected_naming_the_path() {
        let message = rejection("/img/*.png");
        assert_eq!(
            message,
            "path `/img/*.png` may hold * only as its last character"
        );
        assert!(rejection("/**").contains("last character"));
    }

    #[test]
    fn empty_and_control_character_paths_are_rejected() {
        assert!(rejection("").starts_with("path `` is empty"));
        assert_eq!(
            rejection("/a\nb"),
            "path `/a\\nb` holds a control character"
        );
    }

    #[test]
    fn a_path_too_long_once_encoded_is_rejected() {
        let fits = format!("/{}", "a".repeat(MAX_PATH_LENGTH - 1));
        assert_eq!(normalize(&fits).unwrap().len(), MAX_PATH_LENGTH);
        // 3,998 characters, 4,000 once its space is encoded: still fits.
        let spaced = format!("/{} ", "a".repeat(MAX_PATH_LENGTH - 4));
        assert_eq!(normalize(&spaced).unwrap().len(), MAX_PATH_LENGTH);
        let over = format!("/{} ", "a".repeat(MAX_PATH_LENGTH - 3));
        let message = rejection(&over);
        assert!(
            message.contains("4001 characters long once encoded"),
            "{message}"
        );
        assert!(message.contains("/aaaa"), "{message}");
        assert!(
            message.len() < 300,
            "the path should be shortened: {message}"
        );
    }

    #[test]
    fn repeats_after_normalization_are_planned_once() {
        let plan = planned(
            &[
                "index.html",
                "/index.html",
                "//index.html",
                "/a b",
                "/a%20b",
            ],
            &NO_COLLAPSE,
        );
        assert_eq!(plan.paths, ["/a%20b", "/index.html"]);
        assert_eq!(plan.duplicates, 3);
        assert_eq!(plan.dropped_as_covered, 0);
    }

    #[test]
    fn a_bad_path_fails_the_whole_plan() {
        let error = plan(&strings(&["/ok", "/bad*/x"]), &NO_COLLAPSE).unwrap_err();
        assert_eq!(error.name(), "InvalidInput");
        assert!(error.message.contains("`/bad*/x`"), "{}", error.message);
    }

    #[test]
    fn an_empty_request_and_empty_batches_are_rejected() {
        assert!(plan(&[], &PlanOptions::default()).is_err());
        let no_room = PlanOptions {
            max_wildcards: 0,
            ..PlanOptions::default()
        };
        assert!(plan(&strings(&["/a"]), &no_room).is_err());
    }

    #[test]
    fn defaults_are_cloudfront_limits_and_collapse_above_100() {
        let options = PlanOptions::default();
        assert_eq!(options.collapse_above, Some(100));
        assert_eq!(options.max_file_paths, 3000);
        assert_eq!(options.max_wildcards, 15);
    }

    fn files(directory: &str, count: usize) -> Vec<String> {
        (0..count).map(|i| format!("{directory}f{i}")).collect()
    }

    #[test]
    fn collapse_replaces_the_directories_with_the_most_files_first() {
        let mut requested = files("/a/", 3);
        requested.extend(files("/b/", 5));
        requested.extend(files("/c/", 4));
        requested.extend(files("/", 2));
        let options = PlanOptions {
            collapse_above: Some(6),
            ..PlanOptions::default()
        };
        let plan = plan(&requested, &options).unwrap();
        // 14 files: /b/ (5) leaves 9, /c/ (4) leaves 5.
        assert_eq!(
            plan.collapsed,
            [
                Collapse {
                    wildcard: "/b/*".into(),
                    replaced: 5
                },
                Collapse {
                    wildcard: "/c/*".into(),
                    replaced: 4
                },
            ]
        );
        assert_eq!(
            plan.paths,
            ["/a/f0", "/a/f1", "/a/f2", "/b/*", "/c/*", "/f0", "/f1"]
        );
    }

    #[test]
    fn a_collapsed_directory_takes_its_subdirectories_and_narrower_wildcards() {
        let mut requested = files("/a/", 3);
        requested.extend(files("/a/b/", 2));
        requested.push("/a/c/*".into());
        requested.push("/z".into());
        let options = PlanOptions {
            collapse_above: Some(3),
            ..PlanOptions::default()
        };
        let plan = plan(&requested, &options).unwrap();
        assert_eq!(plan.paths, ["/a/*", "/z"]);
        assert_eq!(
            plan.collapsed,
            [Collapse {
                wildcard: "/a/*".into(),
                replaced: 6
            }]
        );
    }

    #[test]
    fn collapse_falls_back_to_everything_when_directories_cannot_get_under_the_threshold() {
        // Root files have no directory to collapse into but /*.
        let mut requested = files("/", 5);
        requested.extend(files("/a/", 2));
        let options = PlanOptions {
            collapse_above: Some(4),
            ..PlanOptions::default()
        };
        let plan = plan(&requested, &options).unwrap();
        assert_eq!(plan.paths, ["/*"]);
        assert_eq!(
            plan.collapsed,
            [Collapse {
                wildcard: "/*".into(),
                replaced: 7
            }]
        );
        assert_eq!(
            plan.batches,
            [Batch {
                paths: vec!["/*".into()]
            }]
        );
    }

    #[test]
    fn collapse_falls_back_to_everything_rather_than_exceed_the_wildcard_limit() {
        let mut requested: Vec<String> = Vec::new();
        for directory in ["/a/", "/b/", "/c/"] {
            requested.extend(files(directory, 3));
        }
        let options = PlanOptions {
            collapse_above: Some(2),
            max_file_paths: 100,
            max_wildcards: 2,
        };
        assert_eq!(plan(&requested, &options).unwrap().paths, ["/*"]);
        let roomier = PlanOptions {
            max_wildcards: 3,
            ..options
        };
        assert_eq!(
            plan(&requested, &roomier).unwrap().paths,
            ["/a/*", "/b/*", "/c/*"]
        );
    }

    #[test]
    fn nothing_is_collapsed_at_or_under_the_threshold_or_when_disabled() {
        let requested = files("/a/", 100);
        let plan_default = plan(&requested, &PlanOptions::default()).unwrap();
        assert!(plan_default.collapsed.is_empty());
        assert_eq!(plan_default.paths.len(), 100);
        let many = files("/a/", 3001);
        let plan = plan(&many, &NO_COLLAPSE).unwrap();
        assert!(plan.collapsed.is_empty());
        assert_eq!(plan.batches.len(), 2);
    }

    #[test]
    fn batches_fill_the_file_and_wildcard_limits_independently() {
        let requested = strings(&[
            "/f1", "/f2", "/f3", "/f4", "/f5", "/f6", "/f7", "/w1/*", "/w2/*", "/w3/*",
        ]);
        let options = PlanOptions {
            collapse_above: None,
            max_file_paths: 5,
            max_wildcards: 2,
        };
        let plan = plan(&requested, &options).unwrap();
        assert_eq!(
            plan.batches,
            [
                Batch {
                    paths: strings(&["/f1", "/f2", "/f3", "/f4", "/f5", "/w1/*", "/w2/*"])
                },
                Batch {
                    paths: strings(&["/f6", "/f7", "/w3/*"])
                },
            ]
        );
    }

    #[test]
    fn cost_is_half_a_cent_per_path_and_a_wildcard_is_one_path() {
        assert_eq!(estimated_cost_usd(0), 0.0);
        assert!((estimated_cost_usd(1) - 0.005).abs() < 1e-12);
        assert!((estimated_cost_usd(3000) - 15.0).abs() < 1e-9);
        assert!(
            (estimated_cost_usd(planned(&["/*"], &NO_COLLAPSE).paths.len()) - 0.005).abs() < 1e-12
        );
    }

    // Small alphabets, so that generated paths share directories, repeat and overlap often,
    // and need encoding (space, `%`, `~`, `é`) or slash collapsing (`//`, a missing `/`).
    fn raw_path() -> impl Strategy<Value = String> {
        let separator = || prop::sample::select(vec!["/", "/", "//"]);
        let directory = prop::sample::select(vec!["a", "é", "b c~"]);
        // "" leaves a directory path such as `/a/`, or `/a/*` with the wildcard.
        let name = prop::sample::select(vec!["x.png", "a", "%20", "%", "y.js?v=1", ""]);
        (
            any::<bool>(),
            prop::collection::vec((separator(), directory), 0..3),
            separator(),
            name,
            prop::bool::weighted(0.25),
        )
            .prop_map(
                |(leading_slash, directories, last_separator, name, wildcard)| {
                    let mut path = String::new();
                    for (i, (separator, directory)) in directories.iter().enumerate() {
                        if i > 0 || leading_slash {
                            path.push_str(separator);
                        }
                        path.push_str(directory);
                    }
                    if !directories.is_empty() || leading_slash {
                        path.push_str(last_separator);
                    }
                    path.push_str(name);
                    // Not `/*`: it would cover everything in most generated sets.
                    if wildcard && !(directories.is_empty() && name.is_empty()) {
                        path.push('*');
                    }
                    if path.is_empty() {
                        path.push('/');
                    }
                    path
                },
            )
    }

    /// A cache tag item, from a small set so that tags repeat, in any case.
    fn raw_tag() -> impl Strategy<Value = String> {
        ("[a-cA-C]{1,2}(-[0-9])?", "(:[xX])?").prop_map(|(name, suffix)| format!("#{name}{suffix}"))
    }

    /// Paths, and now and then cache tags among them.
    fn requested_paths() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(prop_oneof![4 => raw_path(), 1 => raw_tag()], 1..40)
    }

    fn options() -> impl Strategy<Value = PlanOptions> {
        prop_oneof![
            1 => Just(PlanOptions::default()),
            1 => Just(NO_COLLAPSE),
            2 => Just(PlanOptions {
                collapse_above: None,
                max_file_paths: 5,
                max_wildcards: 2,
            }),
            // Thresholds that the generated sets exceed, so that directories get collapsed.
            3 => (0usize..20).prop_map(|threshold| PlanOptions {
                collapse_above: Some(threshold),
                ..PlanOptions::default()
            }),
            3 => (prop::option::of(0usize..12), 1usize..6, 1usize..3).prop_map(
                |(collapse_above, max_file_paths, max_wildcards)| PlanOptions {
                    collapse_above,
                    max_file_paths,
                    max_wildcards,
                }
            ),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_requested_path_is_covered_by_the_plan(
            requested in requested_paths(),
            options in options(),
        ) {
            let plan = plan(&requested, &options).unwrap();
            for path in requested.iter().filter(|item| !is_tag(item)) {
                let path = normalize(path).unwrap();
                prop_assert!(
                    plan.paths.iter().any(|p| *p == path || covers(p, &path)),
                    "{path} is not in {:?}", plan.paths
                );
            }
        }

        #[test]
        fn no_batch_exceeds_either_limit(
            requested in requested_paths(),
            options in options(),
        ) {
            let plan = plan(&requested, &options).unwrap();
            prop_assert!(!plan.batches.is_empty());
            for batch in &plan.batches {
                prop_assert!(!batch.paths.is_empty());
                prop_assert!(batch.file_paths().count() <= options.max_file_paths);
                prop_assert!(batch.wildcards().count() <= options.max_wildcards);
            }
            let mut batched: Vec<String> =
                plan.batches.iter().flat_map(|b| b.paths.clone()).collect();
            batched.sort();
            prop_assert_eq!(&batched, &plan.paths);
        }

        #[test]
        fn planning_is_deterministic_and_idempotent(
            requested in requested_paths(),
            options in options(),
        ) {
            let first = plan(&requested, &options).unwrap();
            prop_assert_eq!(&plan(&requested, &options).unwrap(), &first);
            let mut reversed = requested.clone();
            reversed.reverse();
            prop_assert_eq!(&plan(&reversed, &options).unwrap(), &first);
            let mut sorted = first.paths.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(&sorted, &first.paths);

            let again = plan(&first.paths, &options).unwrap();
            prop_assert_eq!(&again.paths, &first.paths);
            prop_assert_eq!(&again.batches, &first.batches);
            prop_assert_eq!(again.duplicates + again.dropped_as_covered, 0);
            prop_assert!(again.collapsed.is_empty());
        }

        #[test]
        fn no_planned_path_is_covered_by_another_planned_wildcard(
            requested in requested_paths(),
            options in options(),
        ) {
            let plan = plan(&requested, &options).unwrap();
            for wildcard in plan.paths.iter().filter(|p| is_wildcard(p)) {
                for path in plan.paths.iter().filter(|p| *p != wildcard) {
                    prop_assert!(!covers(wildcard, path), "{wildcard} covers {path}");
                }
            }
        }

        #[test]
        fn a_collapse_gets_under_the_threshold_within_one_batch_of_wildcards(
            requested in requested_paths(),
            options in options(),
        ) {
            let plan = plan(&requested, &options).unwrap();
            let files = plan.paths.iter().filter(|p| !is_wildcard(p) && !is_tag(p)).count();
            let wildcards = plan.paths.iter().filter(|p| is_wildcard(p)).count();
            if let Some(threshold) = options.collapse_above {
                prop_assert!(files <= threshold);
            }
            if !plan.collapsed.is_empty() && plan.paths.iter().any(|p| p != "/*" && !is_tag(p)) {
                prop_assert!(wildcards <= options.max_wildcards);
                if files + plan.tags <= options.max_file_paths {
                    prop_assert_eq!(plan.batches.len(), 1);
                }
            }
        }

        #[test]
        fn every_requested_tag_is_in_exactly_one_batch_as_written(
            requested in requested_paths(),
            options in options(),
        ) {
            let plan = plan(&requested, &options).unwrap();
            let tags: Vec<&String> = requested.iter().filter(|item| is_tag(item)).collect();
            for tag in &tags {
                // Once in the whole plan, compared as CloudFront compares tags; kept in one
                // of the spellings requested, never with a `/` or encoded.
                let found: Vec<&String> = plan
                    .batches
                    .iter()
                    .flat_map(|batch| &batch.paths)
                    .filter(|item| item.eq_ignore_ascii_case(tag))
                    .collect();
                prop_assert_eq!(found.len(), 1, "{} in {:?}", tag, plan.batches);
                prop_assert!(tags.contains(&found[0]), "{} is no requested spelling", found[0]);
            }
            prop_assert_eq!(plan.tags, plan.paths.iter().filter(|item| is_tag(item)).count());
        }

        #[test]
        fn normalized_paths_keep_cloudfront_rules(path in raw_path()) {
            let once = normalize(&path).unwrap();
            prop_assert!(once.starts_with('/'));
            prop_assert!(once.is_ascii());
            prop_assert!(!once.contains(' ') && !once.contains('~'));
            prop_assert_eq!(normalize(&once).unwrap(), once);
        }
    }
}
