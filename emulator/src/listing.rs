//! One page of a bucket listing, as ListObjectsV2 cuts it: keys in UTF-8
//! binary order from a starting point, those under `prefix` only, each key
//! that holds `delimiter` after the prefix rolled up into one common prefix,
//! and at most `max_keys` entries (keys and common prefixes together).
//!
//! The bucket is an ordered map, so a page is a range query: it costs the
//! page and a lookup per common prefix, never a pass over the bucket (a page
//! of 1,000 out of 100,000 keys reads about 1,000 entries).

use std::collections::BTreeMap;
use std::ops::Bound;

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start<'a> {
    /// At the first key.
    Beginning,
    /// After this key (`start-after`), which need not exist.
    After(&'a str),
    /// At this key (a continuation token's), which need not exist.
    At(&'a str),
}

/// What to list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    pub prefix: &'a str,
    /// `None` or empty: no roll-up.
    pub delimiter: Option<&'a str>,
    pub start: Start<'a>,
    pub max_keys: usize,
}

/// One page.
#[derive(Debug)]
pub(crate) struct Page<'a, V> {
    /// Keys and values listed, in key order.
    pub contents: Vec<(&'a str, &'a V)>,
    /// Common prefixes, each once, in order.
    pub common_prefixes: Vec<String>,
    /// Where the next page starts ([`Start::At`]), if more entries follow.
    pub next: Option<&'a str>,
}

impl<V> Page<'_, V> {
    /// Entries on the page: keys and common prefixes.
    pub fn len(&self) -> usize {
        self.contents.len() + self.common_prefixes.len()
    }
}

/// The page of `map` that `query` asks for.
pub(crate) fn page<'a, V>(map: &'a BTreeMap<String, V>, query: &Query<'_>) -> Page<'a, V> {
    let mut page = Page {
        contents: Vec::new(),
        common_prefixes: Vec::new(),
        next: None,
    };
    if query.max_keys == 0 {
        return page;
    }
    let prefix = query.prefix;
    let delimiter = query.delimiter.filter(|d| !d.is_empty());
    // Keys under the prefix are contiguous from the prefix itself; start
    // there unless the page starts later.
    let mut from: Bound<String> = match query.start {
        Start::Beginning => Bound::Included(prefix.to_string()),
        Start::After(key) if key >= prefix => Bound::Excluded(key.to_string()),
        Start::At(key) if key >= prefix => Bound::Included(key.to_string()),
        Start::After(_) | Start::At(_) => Bound::Included(prefix.to_string()),
    };
    // The common prefix the scan is inside: its keys are rolled up already.
    let mut rolled_up: Option<String> = None;
    'scan: loop {
        let range = map.range::<str, _>((from.as_ref().map(String::as_str), Bound::Unbounded));
        for (key, value) in range {
            if !key.starts_with(prefix) {
                break 'scan;
            }
            if rolled_up.as_deref().is_some_and(|p| key.starts_with(p)) {
                continue;
            }
            if page.len() == query.max_keys {
                page.next = Some(key.as_str());
                break 'scan;
            }
            let rest = &key[prefix.len()..];
            match delimiter.and_then(|d| rest.find(d).map(|at| at + d.len())) {
                Some(end) => {
                    let common = key[..prefix.len() + end].to_string();
                    // Jump past every key under it: they all sort before the
                    // common prefix followed by the greatest character (a
                    // key with that character right there is skipped above).
                    from = Bound::Excluded(format!("{common}{}", char::MAX));
                    page.common_prefixes.push(common.clone());
                    rolled_up = Some(common);
                    continue 'scan;
                }
                None => page.contents.push((key.as_str(), value)),
            }
        }
        break;
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(keys: &[&str]) -> BTreeMap<String, ()> {
        keys.iter().map(|k| (k.to_string(), ())).collect()
    }

    fn list(
        map: &BTreeMap<String, ()>,
        query: Query<'_>,
    ) -> (Vec<String>, Vec<String>, Option<String>) {
        let page = page(map, &query);
        (
            page.contents.iter().map(|(k, _)| k.to_string()).collect(),
            page.common_prefixes,
            page.next.map(str::to_string),
        )
    }

    fn query(
        prefix: &'static str,
        delimiter: Option<&'static str>,
        start: Start<'static>,
        max_keys: usize,
    ) -> Query<'static> {
        Query {
            prefix,
            delimiter,
            start,
            max_keys,
        }
    }

    #[test]
    fn pages_in_binary_order_and_resumes_at_the_next_key() {
        // UTF-8 binary order: uppercase before lowercase, "é" (C3 A9) after "z".
        let map = bucket(&["b", "a", "é", "Z", "z", "a/b"]);
        let (keys, _, next) = list(&map, query("", None, Start::Beginning, 4));
        assert_eq!(keys, ["Z", "a", "a/b", "b"]);
        assert_eq!(next.as_deref(), Some("z"));
        let (keys, _, next) = list(&map, query("", None, Start::At("z"), 4));
        assert_eq!(keys, ["z", "é"]);
        assert_eq!(next, None);
        // Exactly full: nothing follows, so no next page.
        let (keys, _, next) = list(&map, query("", None, Start::Beginning, 6));
        assert_eq!(keys.len(), 6);
        assert_eq!(next, None);
    }

    #[test]
    fn prefix_and_start_after() {
        let map = bucket(&["logs/1", "logs/2", "logs/3", "logz", "site/a"]);
        let (keys, _, _) = list(&map, query("logs/", None, Start::Beginning, 10));
        assert_eq!(keys, ["logs/1", "logs/2", "logs/3"]);
        let (keys, _, _) = list(&map, query("logs/", None, Start::After("logs/1"), 10));
        assert_eq!(keys, ["logs/2", "logs/3"]);
        // A start before the prefix changes nothing; one past it empties the page.
        let (keys, _, _) = list(&map, query("logs/", None, Start::After("a"), 10));
        assert_eq!(keys.len(), 3);
        let (keys, _, next) = list(&map, query("logs/", None, Start::After("m"), 10));
        assert!(keys.is_empty() && next.is_none());
        // start-after need not be a key.
        let (keys, _, _) = list(&map, query("", None, Start::After("logs/25"), 10));
        assert_eq!(keys, ["logs/3", "logz", "site/a"]);
    }

    #[test]
    fn delimiter_rolls_up_and_counts_each_prefix_once() {
        let map = bucket(&[
            "a.html",
            "css/a.css",
            "css/b.css",
            "css/deep/c.css",
            "img/1.png",
            "index.html",
        ]);
        let (keys, prefixes, next) = list(&map, query("", Some("/"), Start::Beginning, 1000));
        assert_eq!(keys, ["a.html", "index.html"]);
        assert_eq!(prefixes, ["css/", "img/"]);
        assert_eq!(next, None);
        // Two entries a page: the common prefix counts as one.
        let (keys, prefixes, next) = list(&map, query("", Some("/"), Start::Beginning, 2));
        assert_eq!(
            (keys, prefixes),
            (vec!["a.html".to_string()], vec!["css/".to_string()])
        );
        assert_eq!(next.as_deref(), Some("img/1.png"));
        let (keys, prefixes, next) = list(&map, query("", Some("/"), Start::At("img/1.png"), 2));
        assert_eq!(
            (keys, prefixes),
            (vec!["index.html".to_string()], vec!["img/".to_string()])
        );
        assert_eq!(next, None);
        // Under a prefix, the roll-up starts after it.
        let (keys, prefixes, _) = list(&map, query("css/", Some("/"), Start::Beginning, 10));
        assert_eq!(keys, ["css/a.css", "css/b.css"]);
        assert_eq!(prefixes, ["css/deep/"]);
        // A delimiter of several characters, and an empty one (no roll-up).
        let (_, prefixes, _) = list(&map, query("", Some("ss/"), Start::Beginning, 10));
        assert_eq!(prefixes, ["css/"]);
        let (keys, prefixes, _) = list(&map, query("", Some(""), Start::Beginning, 10));
        assert_eq!((keys.len(), prefixes.len()), (6, 0));
    }

    #[test]
    fn a_page_ending_on_a_common_prefix_resumes_past_it() {
        let map = bucket(&["a/1", "a/2", "a/\u{10FFFF}x", "b"]);
        let (_, prefixes, next) = list(&map, query("", Some("/"), Start::Beginning, 1));
        assert_eq!(prefixes, ["a/"]);
        assert_eq!(next.as_deref(), Some("b"));
        // A key holding the greatest character right after the common prefix
        // is still rolled up, not listed.
        let (keys, prefixes, _) = list(&map, query("", Some("/"), Start::Beginning, 10));
        assert_eq!(
            (keys, prefixes),
            (vec!["b".to_string()], vec!["a/".to_string()])
        );
    }

    #[test]
    fn zero_keys_is_an_empty_page_that_is_not_truncated() {
        let map = bucket(&["a"]);
        assert_eq!(
            list(&map, query("", None, Start::Beginning, 0)),
            (vec![], vec![], None)
        );
    }
}
