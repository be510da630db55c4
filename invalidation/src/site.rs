//! Invalidating what changed in a site bucket (`changesIn`): the run lists the bucket under a
//! prefix, compares the listing with the manifest the last successful run for the same site
//! left in the state bucket, and invalidates the URL paths of the objects added, changed or
//! removed since, as few paths as cover them.
//!
//! - **What changed.** An object is *added* when the manifest lacks its key, *changed* when its
//!   ETag or size differs from the manifest's, *removed* when the manifest has its key and the
//!   listing does not. ETags are compared as S3 gives them: a multipart upload's ETag is not
//!   the MD5 of the object and depends on the part size, and an SSE-KMS object's is not an MD5
//!   at all, so such an object uploaded again unchanged may count as changed (one path more;
//!   never one less). S3 lists are strongly consistent (S3 User Guide, "Amazon S3 data
//!   consistency model"), so a listing made after the deploy action sees what it wrote.
//! - **The first run** for a site has no manifest (or one it cannot read), so nothing says what
//!   is cached: everything under the prefix is invalidated, as one wildcard, however few
//!   objects are listed, and the summary says so.
//! - **Keys to URL paths** ([`SiteSource::url_path`]): CloudFront asks the origin for the
//!   origin path followed by the request's path (CloudFront Developer Guide, "Origin path"), so
//!   the key `public/docs/a.html` behind origin path `/public` is served as `/docs/a.html`. The
//!   characters CloudFront says to URL-encode in an invalidation path are encoded (see
//!   [`crate::planning::normalize`]), and so are `?` and `*`, which in a key are characters of
//!   its name, not a query string or a wildcard. An index document (`index.html` unless
//!   `indexDocument` says otherwise) is also served as its directory: `docs/index.html` is
//!   `/docs/index.html` and `/docs/`, and `/docs` too where a rewrite serves a directory without
//!   its slash (`slashlessDirectories`); the root's `index.html` is also `/`. A key with an
//!   empty segment (`a//b.html`) cannot be named exactly (the planner makes repeated slashes
//!   one): the wildcard of its part before the `//` covers it.
//! - **The fewest paths** ([`changed_paths`]): a directory whose every object changed (counting
//!   the removed ones) is invalidated as one wildcard `/dir/*` when that replaces more than one
//!   path; this loses nothing, since nothing unchanged is under it. At most
//!   [`MAX_WILDCARD_PATHS`] do, those that save the most, so the changes fit one invalidation
//!   where they can. The planner's own collapse (`collapseAbove`) then applies to all the run's
//!   paths, as to any request.
//! - **The manifest** is written by report-result, only after the run succeeded, with S3's
//!   conditional writes (see [`crate::state_bucket::keep_manifest`]).
//!
//! This module holds the rules, on values; [`crate::state_bucket::find_changes`] and
//! [`crate::state_bucket::keep_manifest`] apply them to S3.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};

use serde::{Deserialize, Serialize};

use crate::error::{shorten, WorkflowError};
use crate::limits::MAX_WILDCARD_PATHS;
use crate::planning::items_named;

/// The version of the manifest's format.
pub const MANIFEST_FORMAT: u32 = 1;
/// The index document when `indexDocument` is not given.
pub const DEFAULT_INDEX_DOCUMENT: &str = "index.html";
/// The longest prefix accepted: S3's longest key.
pub const MAX_PREFIX_BYTES: usize = 1024;

/// `changesIn` as a person writes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ChangesIn {
    bucket: String,
    prefix: Option<String>,
    origin_path: Option<String>,
    index_document: Option<String>,
    slashless_directories: Option<bool>,
}

/// The site whose changes a run invalidates, every value checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSource {
    /// The site bucket.
    pub bucket: String,
    /// The keys listed start with this.
    pub prefix: String,
    /// The distribution's origin path as a key prefix: `public/` for origin path `/public`,
    /// empty without one.
    pub origin_prefix: String,
    /// The file served for a directory, if any.
    pub index_document: Option<String>,
    /// Whether a directory is also served without its trailing slash.
    pub slashless_directories: bool,
}

impl ChangesIn {
    /// Checks every value, naming the bad one.
    pub(crate) fn check(self) -> Result<SiteSource, WorkflowError> {
        if !is_bucket_name(&self.bucket) {
            return Err(WorkflowError::invalid_input(format!(
                "changesIn.bucket `{}` is not an S3 bucket name (3 to 63 lowercase letters, \
                 digits, dots and hyphens, starting and ending with a letter or digit)",
                shorten(&self.bucket)
            )));
        }
        let origin_prefix = match self.origin_path.as_deref() {
            None | Some("") => String::new(),
            Some(path)
                if path.starts_with('/')
                    && !path.ends_with('/')
                    && !path.chars().any(char::is_control) =>
            {
                format!("{}/", &path[1..])
            }
            Some(path) => {
                return Err(WorkflowError::invalid_input(format!(
                    "changesIn.originPath `{}` is not an origin path: it starts with a / and \
                     does not end with one, as CloudFront's OriginPath, such as /public",
                    shorten(path).escape_debug()
                )))
            }
        };
        let prefix = self.prefix.unwrap_or_else(|| origin_prefix.clone());
        if prefix.len() > MAX_PREFIX_BYTES || prefix.chars().any(char::is_control) {
            return Err(WorkflowError::invalid_input(format!(
                "changesIn.prefix `{}` is not a key prefix: at most {MAX_PREFIX_BYTES} bytes, no \
                 control characters",
                shorten(&prefix).escape_debug()
            )));
        }
        if !prefix.starts_with(&origin_prefix) {
            return Err(WorkflowError::invalid_input(format!(
                "changesIn.prefix `{}` is outside changesIn.originPath `{}`: the distribution \
                 serves only keys that start with {origin_prefix}",
                shorten(&prefix),
                self.origin_path.unwrap_or_default()
            )));
        }
        let index_document = match self.index_document {
            None => Some(DEFAULT_INDEX_DOCUMENT.to_owned()),
            Some(name) if name.is_empty() => None,
            Some(name) if !name.contains('/') && !name.chars().any(char::is_control) => Some(name),
            Some(name) => {
                return Err(WorkflowError::invalid_input(format!(
                    "changesIn.indexDocument `{}` is not a file name (such as index.html; \"\" \
                     for none)",
                    shorten(&name).escape_debug()
                )))
            }
        };
        Ok(SiteSource {
            bucket: self.bucket,
            prefix,
            origin_prefix,
            index_document,
            slashless_directories: self.slashless_directories.unwrap_or(false),
        })
    }
}

/// S3's rules for a general purpose bucket's name (S3 User Guide, "Bucket naming rules"), the
/// ones a name can be checked against without asking S3.
fn is_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
}

/// One object of a site bucket's listing: what ListObjectsV2 says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteObject {
    /// Its key.
    pub key: String,
    /// Its ETag, as S3 gives it (quoted).
    pub etag: String,
    /// Its size in bytes.
    pub size: u64,
}

/// What became of one key since the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Same,
    Added,
    Changed,
    Removed,
}

/// What changed, in numbers: the summary's "N objects changed (a added, c changed, r removed):
/// M paths".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeCounts {
    /// Objects listed now.
    pub objects: usize,
    /// Objects the manifest lacked.
    pub added: usize,
    /// Objects whose ETag or size differs from the manifest's.
    pub changed: usize,
    /// Objects the manifest had and the listing lacks.
    pub removed: usize,
    /// URL paths (and wildcards) that cover them.
    pub paths: usize,
    /// Whether there was no manifest yet: the site's first run.
    pub first_run: bool,
}

impl ChangeCounts {
    /// The summary's sentence: "3 objects changed in s3://b/ (1 added, 1 changed, 1 removed):
    /// 4 paths", or for a first run "First run for s3://b/ (no manifest yet): all 12 objects:
    /// 1 path", with why the manifest could not be read in place of "no manifest yet" when
    /// `unreadable` says.
    pub fn describe(&self, site: &str, unreadable: Option<&str>) -> String {
        let paths = items_named(self.paths, 0);
        if self.first_run {
            let why = match unreadable {
                Some(why) => format!("its manifest could not be read: {why}"),
                None => "no manifest yet".to_owned(),
            };
            return format!(
                "First run for {site} ({why}): all {} objects: {paths}",
                self.objects
            );
        }
        let total = self.added + self.changed + self.removed;
        format!(
            "{total} {} changed in {site} ({} added, {} changed, {} removed): {paths}",
            if total == 1 { "object" } else { "objects" },
            self.added,
            self.changed,
            self.removed
        )
    }
}

/// What the run keeps of its site between steps: where the manifest goes once the run
/// succeeded, the condition of that write, and what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteUpdate {
    /// `s3://bucket/prefix`, for messages.
    pub site: String,
    /// The manifest's key in the state bucket.
    pub manifest_key: String,
    /// The ETag of the manifest the run found (compared with, or could not read); none on a
    /// first run: what the manifest's write is conditional on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_etag: Option<String>,
    /// Why the manifest found could not be read, if it could not: the run is then a first run,
    /// and its manifest replaces that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_unreadable: Option<String>,
    /// Where the run's listing waits in the state bucket until the run succeeded; named by its
    /// digest, so that the plan stored first names its own listing whatever another attempt
    /// of the same step listed.
    pub listing_key: String,
    /// What changed.
    pub counts: ChangeCounts,
}

/// The longest reason for an unreadable manifest a run state keeps.
pub const MAX_UNREADABLE_CHARS: usize = 200;

impl SiteUpdate {
    /// The summary's sentence of what changed (see [`ChangeCounts::describe`]).
    pub fn describe(&self) -> String {
        self.counts
            .describe(&self.site, self.manifest_unreadable.as_deref())
    }
}

/// What [`crate::state_bucket::find_changes`] found: the paths to invalidate, and the manifest to keep once the run
/// succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteChanges {
    /// URL paths and wildcards, sorted.
    pub paths: Vec<String>,
    /// The run's record of the site.
    pub update: SiteUpdate,
    /// The listing, as the manifest the run leaves when it succeeds.
    pub manifest: Vec<u8>,
}

/// The first line of a manifest: whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestHeader {
    v: u32,
    bucket: String,
    prefix: String,
    targets: Vec<String>,
    /// The run that listed it.
    pub(crate) run: String,
    objects: usize,
}

/// A manifest: gzip of JSON lines, a [`ManifestHeader`], then one `["key","etag",size]` per
/// object in key order. JSON keeps any key intact (S3 keys may hold tabs and line breaks);
/// gzip makes 100,000 objects a few MB (docs/performance.md has the measured size).
pub fn encode_manifest(
    site: &SiteSource,
    targets: &[String],
    run: &str,
    objects: &[SiteObject],
) -> Vec<u8> {
    let header = ManifestHeader {
        v: MANIFEST_FORMAT,
        bucket: site.bucket.clone(),
        prefix: site.prefix.clone(),
        targets: targets.to_vec(),
        run: run.to_owned(),
        objects: objects.len(),
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let write = |gz: &mut flate2::write::GzEncoder<Vec<u8>>| -> std::io::Result<()> {
        serde_json::to_writer(&mut *gz, &header)?;
        gz.write_all(b"\n")?;
        for object in objects {
            serde_json::to_writer(&mut *gz, &(&object.key, &object.etag, object.size))?;
            gz.write_all(b"\n")?;
        }
        Ok(())
    };
    write(&mut gz).expect("writing to memory does not fail");
    gz.finish().expect("writing to memory does not fail")
}

/// A manifest read back: the run that wrote it and its objects, or why it cannot be read.
pub(crate) fn decode_manifest(body: &[u8]) -> Result<(ManifestHeader, Vec<SiteObject>), String> {
    let mut lines = BufReader::new(flate2::read::GzDecoder::new(body)).lines();
    let header: ManifestHeader = match lines.next() {
        Some(line) => serde_json::from_str(&line.map_err(|e| e.to_string())?)
            .map_err(|e| format!("its first line is no manifest header: {e}"))?,
        None => return Err("it is empty".to_owned()),
    };
    if header.v != MANIFEST_FORMAT {
        return Err(format!(
            "it is of format {}, not {MANIFEST_FORMAT}",
            header.v
        ));
    }
    let mut objects = Vec::with_capacity(header.objects);
    for line in lines {
        let line = line.map_err(|e| e.to_string())?;
        let (key, etag, size): (String, String, u64) =
            serde_json::from_str(&line).map_err(|e| format!("an object line: {e}"))?;
        objects.push(SiteObject { key, etag, size });
    }
    Ok((header, objects))
}

/// The URL paths that cover every change between `previous` (none: the first run) and
/// `current`, both in key order, with the counts. See the module doc for the rules.
pub fn changed_paths(
    site: &SiteSource,
    previous: Option<&[SiteObject]>,
    current: &[SiteObject],
) -> (Vec<String>, ChangeCounts) {
    let entries = compare(previous.unwrap_or_default(), current);
    let mut counts = ChangeCounts {
        objects: current.len(),
        first_run: previous.is_none(),
        ..ChangeCounts::default()
    };
    for (_, change) in &entries {
        match change {
            Change::Added => counts.added += 1,
            Change::Changed => counts.changed += 1,
            Change::Removed => counts.removed += 1,
            Change::Same => {}
        }
    }
    // Without a manifest nothing says what is cached: objects deleted before this run may be,
    // so everything under the prefix goes, listed or not.
    if previous.is_none() {
        counts.paths = 1;
        return (vec![format!("{}*", site.url_path(&site.prefix))], counts);
    }
    // Each directory at or below the prefix: how many paths its changed objects would take,
    // and whether anything under it is unchanged.
    #[derive(Default)]
    struct Directory {
        paths: usize,
        has_unchanged: bool,
        has_changed_index: bool,
    }
    // The URL paths of each changed key, worked out once: counted here, sent below unless a
    // wildcard covers them.
    let urls: Vec<Vec<String>> = entries
        .iter()
        .map(|(key, change)| match change {
            Change::Same => Vec::new(),
            _ => site.url_paths_of(key),
        })
        .collect();
    let mut directories: BTreeMap<&str, Directory> = BTreeMap::new();
    for ((key, change), urls) in entries.iter().zip(&urls) {
        let changed = *change != Change::Same;
        let is_index = site.index_directory(key);
        for directory in site.directories_of(key) {
            let entry = directories.entry(directory).or_default();
            entry.paths += urls.len();
            entry.has_unchanged |= !changed;
            entry.has_changed_index |= changed && is_index == Some(directory);
        }
    }
    // The outermost wholly changed directories whose wildcard is cheaper than their paths
    // (descendants of a candidate sort right after it, and are skipped)…
    struct Candidate<'k> {
        directory: &'k str,
        saves: usize,
        bare: bool,
    }
    let mut candidates: Vec<Candidate> = Vec::new();
    for (directory, stats) in &directories {
        let inside_last = candidates
            .last()
            .is_some_and(|c| directory.starts_with(c.directory));
        if stats.has_unchanged || inside_last {
            continue;
        }
        let bare = site.slashless_directories
            && stats.has_changed_index
            && directory.len() > site.origin_prefix.len();
        let cost = 1 + usize::from(bare);
        if stats.paths > cost {
            candidates.push(Candidate {
                directory,
                saves: stats.paths - cost,
                bare,
            });
        }
    }
    // …at most as many as CloudFront lets be in progress on a distribution, those that save
    // the most first, so that the changes go in one invalidation where they fit.
    candidates.sort_by(|a, b| b.saves.cmp(&a.saves).then(a.directory.cmp(b.directory)));
    candidates.truncate(MAX_WILDCARD_PATHS);
    candidates.sort_by(|a, b| a.directory.cmp(b.directory));
    let wildcards: Vec<&str> = candidates.iter().map(|c| c.directory).collect();
    let mut paths = Vec::new();
    for candidate in &candidates {
        paths.push(format!("{}*", site.url_path(candidate.directory)));
        if candidate.bare {
            paths.push(site.url_path(candidate.directory.trim_end_matches('/')));
        }
    }
    for ((key, change), urls) in entries.iter().zip(urls) {
        if *change == Change::Same || covered(&wildcards, key) {
            continue;
        }
        paths.extend(urls);
    }
    paths.sort_unstable();
    paths.dedup();
    counts.paths = paths.len();
    (paths, counts)
}

/// Whether a chosen wildcard directory (sorted, none inside another) holds `key`.
fn covered(wildcards: &[&str], key: &str) -> bool {
    let after = wildcards.partition_point(|w| *w <= key);
    after
        .checked_sub(1)
        .is_some_and(|at| key.starts_with(wildcards[at]))
}

/// Every key of either side, in key order, with what became of it.
fn compare<'a>(previous: &'a [SiteObject], current: &'a [SiteObject]) -> Vec<(&'a str, Change)> {
    let mut entries = Vec::with_capacity(current.len().max(previous.len()));
    let (mut old, mut new) = (0, 0);
    loop {
        let entry = match (previous.get(old), current.get(new)) {
            (None, None) => break,
            (Some(o), Some(n)) if o.key == n.key => {
                old += 1;
                new += 1;
                let same = o.etag == n.etag && o.size == n.size;
                (
                    n.key.as_str(),
                    if same { Change::Same } else { Change::Changed },
                )
            }
            (Some(o), Some(n)) if o.key < n.key => {
                old += 1;
                (o.key.as_str(), Change::Removed)
            }
            (Some(o), None) => {
                old += 1;
                (o.key.as_str(), Change::Removed)
            }
            (_, Some(n)) => {
                new += 1;
                (n.key.as_str(), Change::Added)
            }
        };
        entries.push(entry);
    }
    entries
}

impl SiteSource {
    /// The directories that hold `key`, from the prefix (the outermost: a wildcard of it covers
    /// every listed key) inward, each a key prefix.
    fn directories_of<'k>(&self, key: &'k str) -> impl Iterator<Item = &'k str> + 'k {
        let start = self.prefix.len().min(key.len());
        std::iter::once(&key[..start]).chain(
            key[start..]
                .match_indices('/')
                .map(move |(at, _)| &key[..start + at + 1]),
        )
    }

    /// The directory (a key prefix ending in `/`, or the origin's root) that `key` is the index
    /// document of, if it is one.
    fn index_directory<'k>(&self, key: &'k str) -> Option<&'k str> {
        let index = self.index_document.as_deref()?;
        let directory = key.strip_suffix(index)?;
        (directory.len() >= self.origin_prefix.len()
            && (directory.ends_with('/') || directory == self.origin_prefix))
            .then_some(directory)
    }

    /// The URL paths that serve `key`: its own, and its directory's for an index document.
    ///
    /// A key with an empty segment (`a//b.html`, or `/x` right under the origin) is served at
    /// a URL no invalidation path can name exactly, since the planner makes repeated slashes
    /// one: the wildcard of its part before the first `//` covers it instead.
    pub fn url_paths_of(&self, key: &str) -> Vec<String> {
        let path = self.url_path(key);
        if let Some(at) = path.find("//") {
            return vec![format!("{}*", &path[..=at])];
        }
        let mut paths = vec![path];
        if let Some(directory) = self.index_directory(key) {
            paths.push(self.url_path(directory));
            if self.slashless_directories && directory != self.origin_prefix {
                paths.push(self.url_path(directory.trim_end_matches('/')));
            }
        }
        paths
    }

    /// The URL path CloudFront serves `key` (or a key prefix) at: the origin path taken off, a
    /// leading `/`, and every byte encoded that CloudFront says to encode in an invalidation
    /// path, `?` and `*` too. `key` starts with the origin prefix (the prefix does, and every
    /// listed key starts with the prefix).
    pub fn url_path(&self, key: &str) -> String {
        let served = key.strip_prefix(&self.origin_prefix).unwrap_or(key);
        let mut path = String::with_capacity(served.len() + 1);
        path.push('/');
        for &byte in served.as_bytes() {
            let encode = match byte {
                b' ' | b'<' | b'>' | b'"' | b'#' | b'%' | b'{' | b'}' | b'|' | b'\\' | b'^'
                | b'~' | b'[' | b']' | b'`' | b'?' | b'*' => true,
                byte => byte.is_ascii_control() || !byte.is_ascii(),
            };
            if encode {
                path.push_str(&format!("%{byte:02X}"));
            } else {
                path.push(byte as char);
            }
        }
        path
    }
}

/// What became of the manifest when the run succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "manifest")]
pub enum ManifestKept {
    /// Written: the next run compares with this run's listing.
    Written,
    /// Another run for the same site wrote the manifest after this one read it, so this run
    /// leaves it as that run wrote it: the next run compares with that listing, and invalidates
    /// anything this run saw and that one did not again (never less than changed).
    LostRace {
        /// The run that wrote it, as its manifest says.
        winner: String,
    },
    /// It could not be written; the next run compares with the one before, and invalidates
    /// this run's changes again.
    NotWritten {
        /// Why.
        why: String,
    },
}

impl ManifestKept {
    /// A sentence for the summary.
    pub fn describe(&self) -> String {
        match self {
            Self::Written => "Manifest updated.".to_owned(),
            Self::LostRace { winner } => format!(
                "Manifest left as run {winner} wrote it after this run read it; the next run \
                 compares with that one."
            ),
            Self::NotWritten { why } => format!(
                "The manifest could not be updated ({why}); the next run invalidates these \
                 changes again."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(prefix: &str, origin_path: Option<&str>) -> SiteSource {
        ChangesIn {
            bucket: "my-site".into(),
            prefix: Some(prefix.into()),
            origin_path: origin_path.map(str::to_owned),
            ..ChangesIn::default()
        }
        .check()
        .unwrap()
    }

    fn objects(entries: &[(&str, &str)]) -> Vec<SiteObject> {
        let mut objects: Vec<SiteObject> = entries
            .iter()
            .map(|(key, etag)| SiteObject {
                key: (*key).into(),
                etag: format!("\"{etag}\""),
                size: etag.len() as u64,
            })
            .collect();
        objects.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        objects
    }

    #[test]
    fn added_changed_and_removed_objects_become_their_paths() {
        let before = objects(&[
            ("index.html", "1"),
            ("a.html", "1"),
            ("b.html", "1"),
            ("docs/x.html", "1"),
            ("docs/y.html", "1"),
        ]);
        let after = objects(&[
            ("index.html", "1"),
            ("a.html", "2"),
            ("c.html", "1"),
            ("docs/x.html", "1"),
            ("docs/y.html", "1"),
        ]);
        let (paths, counts) = changed_paths(&site("", None), Some(&before), &after);
        assert_eq!(paths, ["/a.html", "/b.html", "/c.html"]);
        assert_eq!(
            counts.describe("s3://my-site/", None),
            "3 objects changed in s3://my-site/ (1 added, 1 changed, 1 removed): 3 paths"
        );
    }

    #[test]
    fn index_documents_are_their_directories_too() {
        let unchanged = ("docs/x.html", "1");
        let before = objects(&[("index.html", "1"), ("docs/index.html", "1"), unchanged]);
        let after = objects(&[("index.html", "2"), ("docs/index.html", "2"), unchanged]);
        let mut source = site("", None);
        let (paths, _) = changed_paths(&source, Some(&before), &after);
        assert_eq!(paths, ["/", "/docs/", "/docs/index.html", "/index.html"]);
        source.slashless_directories = true;
        let (paths, _) = changed_paths(&source, Some(&before), &after);
        assert_eq!(
            paths,
            ["/", "/docs", "/docs/", "/docs/index.html", "/index.html"]
        );
        // Without an unchanged object beside it, the directory is one wildcard (and its bare
        // path, which the wildcard does not cover).
        let unchanged = ("x.html", "1");
        let before = objects(&[("index.html", "1"), ("docs/index.html", "1"), unchanged]);
        let after = objects(&[("index.html", "2"), ("docs/index.html", "2"), unchanged]);
        let (paths, _) = changed_paths(&source, Some(&before), &after);
        assert_eq!(paths, ["/", "/docs", "/docs/*", "/index.html"]);
    }

    #[test]
    fn a_wholly_changed_directory_is_one_wildcard() {
        let before = objects(&[("assets/a.js", "1"), ("assets/b.js", "1"), ("x.html", "1")]);
        let after = objects(&[("assets/a.js", "2"), ("assets/c.js", "1"), ("x.html", "1")]);
        let (paths, counts) = changed_paths(&site("", None), Some(&before), &after);
        // a changed, b removed, c added: nothing unchanged is under /assets/.
        assert_eq!(paths, ["/assets/*"]);
        assert_eq!((counts.added, counts.changed, counts.removed), (1, 1, 1));
    }

    #[test]
    fn a_first_run_invalidates_everything_under_the_prefix_once() {
        let after = objects(&[("public/index.html", "1"), ("public/docs/a b.html", "1")]);
        let (paths, counts) = changed_paths(&site("public/", Some("/public")), None, &after);
        assert_eq!(paths, ["/*"]);
        assert_eq!(
            counts.describe("s3://my-site/public/", None),
            "First run for s3://my-site/public/ (no manifest yet): all 2 objects: 1 path"
        );
        // With nothing listed too: what was deleted before may still be cached.
        let (paths, _) = changed_paths(&site("public/blog/", None), None, &after[..0]);
        assert_eq!(paths, ["/public/blog/*"]);
    }

    #[test]
    fn at_most_fifteen_directories_become_wildcards_those_saving_the_most() {
        // GIVEN 20 wholly changed directories, directory n holding n + 2 changed files, beside
        // an unchanged file at the root
        let mut before = vec![("kept.html".to_owned(), "1")];
        for n in 0..20 {
            for file in 0..n + 2 {
                before.push((format!("d{n:02}/f{file}.html"), "1"));
            }
        }
        let after: Vec<(String, &str)> = before
            .iter()
            .map(|(key, _)| (key.clone(), if key == "kept.html" { "1" } else { "2" }))
            .collect();
        let as_objects = |entries: &[(String, &str)]| {
            let borrowed: Vec<(&str, &str)> =
                entries.iter().map(|(k, e)| (k.as_str(), *e)).collect();
            objects(&borrowed)
        };
        let (paths, _) = changed_paths(
            &site("", None),
            Some(&as_objects(&before)),
            &as_objects(&after),
        );
        // THEN the 15 largest are wildcards, the 5 smallest keep their files
        let wildcards: Vec<&String> = paths.iter().filter(|p| p.ends_with('*')).collect();
        assert_eq!(wildcards.len(), MAX_WILDCARD_PATHS);
        assert_eq!(wildcards[0], "/d05/*");
        assert_eq!(paths.len(), 15 + (2 + 3 + 4 + 5 + 6));
    }

    #[test]
    fn a_key_with_an_empty_segment_is_covered_by_a_wildcard() {
        let source = site("", None);
        assert_eq!(source.url_paths_of("a//b.html"), ["/a/*"]);
        assert_eq!(source.url_paths_of("/x.html"), ["/*"]);
    }

    #[test]
    fn keys_are_encoded_as_cloudfront_serves_them() {
        let source = site("public/", Some("/public"));
        assert_eq!(
            source.url_path("public/docs/a b?.html"),
            "/docs/a%20b%3F.html"
        );
        assert_eq!(
            source.url_path("public/café*~.html"),
            "/caf%C3%A9%2A%7E.html"
        );
        assert_eq!(
            source.url_paths_of("public/index.html"),
            ["/index.html", "/"]
        );
    }

    #[test]
    fn bad_values_are_named() {
        let message = |changes: ChangesIn| changes.check().unwrap_err().message;
        assert!(message(ChangesIn {
            bucket: "My_Site".into(),
            ..ChangesIn::default()
        })
        .starts_with("changesIn.bucket `My_Site` is not an S3 bucket name"));
        assert!(message(ChangesIn {
            bucket: "my-site".into(),
            origin_path: Some("public/".into()),
            ..ChangesIn::default()
        })
        .starts_with("changesIn.originPath `public/` is not an origin path"));
        assert!(message(ChangesIn {
            bucket: "my-site".into(),
            prefix: Some("other/".into()),
            origin_path: Some("/public".into()),
            ..ChangesIn::default()
        })
        .starts_with("changesIn.prefix `other/` is outside changesIn.originPath `/public`"));
    }

    #[test]
    fn a_manifest_reads_back_as_written() {
        let source = site("", None);
        let listed = objects(&[("a\tb\n.html", "1"), ("z", "22")]);
        let body = encode_manifest(&source, &["E1".into()], "run-1", &listed);
        let (header, read) = decode_manifest(&body).unwrap();
        assert_eq!(header.run, "run-1");
        assert_eq!(read, listed);
    }
}
