//! CloudFront's invalidation operations (REST-XML, API version 2020-05-31),
//! for distributions and for distribution tenants: routing, validation,
//! limits and the caller-reference rules.
//!
//! An item of `Paths` that starts with `#` is a cache tag (2026): ASCII 33 to
//! 126 but the comma, at most [`MAX_CACHE_TAG_LEN`] characters after the `#`,
//! no `*` wildcard, and only for a distribution (or tenant) with a
//! `CacheTagConfig` ([`Config::tag_distributions`]). Items are stored and
//! answered exactly as sent. What CloudFront answers for a tag it refuses is
//! undocumented; the emulator answers 400 `InvalidArgument` naming the item
//! and the reason, as CloudFront answers other bad items. Each tag counts as
//! one file path toward the in-progress limits (CloudFront counts a tag as
//! one path, but does not say toward which of the two quotas).
//!
//! [`Config::tag_distributions`]: crate::Config#structfield.tag_distributions

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use crate::config::Operation;
use crate::error::ApiError;
use crate::records::IN_PROGRESS;
use crate::state::{Shared, StoredInvalidation};
use crate::wire::{clip, format_timestamp, percent_decode};
use crate::xml::{self, InvalidationDoc};

/// URL prefix of every CloudFront call of this API version.
pub const API_PREFIX: &str = "/2020-05-31/";

/// In-progress file paths allowed per distribution, or per distribution
/// tenant (CloudFront quota).
pub const MAX_IN_PROGRESS_PATHS: usize = 3000;
/// In-progress wildcard paths allowed per distribution, or per distribution
/// tenant (CloudFront quota).
pub const MAX_IN_PROGRESS_WILDCARDS: usize = 15;
/// Longest path CloudFront accepts.
pub const MAX_PATH_LEN: usize = 4000;
/// Longest cache tag CloudFront accepts, in characters; the emulator counts
/// those after the `#` (whether CloudFront counts the `#` is undocumented).
pub const MAX_CACHE_TAG_LEN: usize = 256;

/// What an invalidation belongs to: a distribution, or a distribution
/// tenant of a multi-tenant distribution. The two have separate ids, limits
/// and caller references, and answer an unknown id with different errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    /// The distribution id, or the tenant id.
    pub id: String,
    /// Whether `id` is a distribution tenant id.
    pub tenant: bool,
}

impl Owner {
    fn distribution(id: &str) -> Self {
        Owner {
            id: id.to_string(),
            tenant: false,
        }
    }

    fn tenant(id: &str) -> Self {
        Owner {
            id: id.to_string(),
            tenant: true,
        }
    }

    fn owns(&self, inv: &StoredInvalidation) -> bool {
        inv.tenant == self.tenant && inv.distribution_id == self.id
    }

    fn noun(&self) -> &'static str {
        if self.tenant {
            "distribution tenant"
        } else {
            "distribution"
        }
    }
}

/// A recognised CloudFront request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Create { owner: Owner },
    Get { owner: Owner, id: String },
}

impl Route {
    pub fn operation(&self) -> Operation {
        match (self, self.owner().tenant) {
            (Route::Create { .. }, false) => Operation::CreateInvalidation,
            (Route::Get { .. }, false) => Operation::GetInvalidation,
            (Route::Create { .. }, true) => Operation::CreateInvalidationForDistributionTenant,
            (Route::Get { .. }, true) => Operation::GetInvalidationForDistributionTenant,
        }
    }

    fn owner(&self) -> &Owner {
        match self {
            Route::Create { owner } | Route::Get { owner, .. } => owner,
        }
    }
}

/// Matches a method and path under [`API_PREFIX`]. `Err` carries the error
/// for a path that is CloudFront's but not one of the emulated operations.
pub(crate) fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let rest = path.strip_prefix(API_PREFIX).unwrap_or(path);
    let segments: Vec<String> = rest
        .trim_end_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let unknown = || {
        ApiError::new(
            404,
            "UnknownOperation",
            format!(
                "The emulator does not implement {method} {}",
                clip(path, 200)
            ),
        )
    };
    let (owner, rest) = match segs.as_slice() {
        ["distribution", id, rest @ ..] if !id.is_empty() => (Owner::distribution(id), rest),
        ["distribution-tenant", id, rest @ ..] if !id.is_empty() => (Owner::tenant(id), rest),
        _ => return Err(unknown()),
    };
    match (rest, method) {
        (["invalidation"], "POST") => Ok(Route::Create { owner }),
        // ListInvalidations (and its tenant twin) is CloudFront's, but the
        // workflow never lists, so the emulator does not serve it.
        (["invalidation"], "GET") => Err(unknown()),
        (["invalidation", id], "GET") if !id.is_empty() => Ok(Route::Get {
            owner,
            id: id.to_string(),
        }),
        (["invalidation"], _) => Err(method_not_allowed(method)),
        (["invalidation", id], _) if !id.is_empty() => Err(method_not_allowed(method)),
        _ => Err(unknown()),
    }
}

fn method_not_allowed(method: &str) -> ApiError {
    ApiError::new(
        405,
        "MethodNotAllowed",
        format!("The method {method} is not allowed on this resource"),
    )
}

/// What a successful CloudFront call answers.
pub(crate) struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// Runs one CloudFront call against the state. Nothing is changed unless
/// the call succeeds.
pub(crate) fn handle(
    shared: &Shared,
    route: &Route,
    body: &[u8],
    host: &str,
) -> Result<Reply, ApiError> {
    let owner = route.owner();
    // Permission is checked before anything else, as IAM would.
    if shared.config.denied.contains(&owner.id) {
        return Err(ApiError::new(
            403,
            "AccessDenied",
            format!(
                "User is not authorized to perform this action on {} {}",
                owner.noun(),
                owner.id
            ),
        ));
    }
    match route {
        Route::Create { owner } => create(shared, owner, body, host),
        Route::Get { owner, id } => {
            known_owner(shared, owner)?;
            get(shared, owner, id)
        }
    }
}

/// An unknown distribution is `NoSuchDistribution`; an unknown tenant is
/// `EntityNotFound`, the only not-found error the tenant operations model.
fn known_owner(shared: &Shared, owner: &Owner) -> Result<(), ApiError> {
    let config = &shared.config;
    if owner.tenant {
        if config.tenants.contains(&owner.id) {
            return Ok(());
        }
        Err(ApiError::new(
            404,
            "EntityNotFound",
            format!(
                "The specified distribution tenant does not exist: {}",
                clip(&owner.id, 120)
            ),
        ))
    } else if config.distributions.contains(&owner.id) {
        Ok(())
    } else {
        Err(ApiError::new(
            404,
            "NoSuchDistribution",
            format!(
                "The specified distribution does not exist: {}",
                clip(&owner.id, 120)
            ),
        ))
    }
}

/// A batch that passed the syntactic checks.
struct Batch {
    paths: Vec<String>,
    caller_reference: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "InvalidArgument", message)
}

/// Checks the body in the order a request is read: present, well-formed,
/// counts consistent, each value valid.
fn parse_batch(body: &[u8]) -> Result<Batch, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            400,
            "MissingBody",
            "This operation requires a body. Ensure that the body is present and the Content-Type header is set.",
        ));
    }
    let parsed = xml::parse_invalidation_batch(body).map_err(|why| {
        ApiError::new(
            400,
            "MalformedXML",
            format!("The XML you provided was not well-formed: {why}"),
        )
    })?;
    if !parsed.has_paths {
        return Err(invalid("Paths is required"));
    }
    let quantity = parsed
        .quantity
        .as_deref()
        .ok_or_else(|| invalid("Paths.Quantity is required"))?;
    let quantity: usize = quantity.trim().parse().map_err(|_| {
        invalid(format!(
            "Paths.Quantity must be a non-negative integer, got '{}'",
            quantity.trim()
        ))
    })?;
    if quantity != parsed.paths.len() {
        return Err(ApiError::new(
            400,
            "InconsistentQuantities",
            format!(
                "The value of Quantity ({quantity}) and the size of Items ({}) don't match.",
                parsed.paths.len()
            ),
        ));
    }
    if parsed.paths.is_empty() {
        return Err(invalid(
            "Your request must contain at least one invalidation path.",
        ));
    }
    for item in &parsed.paths {
        if is_tag(item) {
            validate_tag(item)?;
        } else {
            validate_path(item)?;
        }
    }
    let caller_reference = match parsed.caller_reference {
        Some(r) if !r.is_empty() => r,
        _ => return Err(invalid("CallerReference is required")),
    };
    Ok(Batch {
        paths: parsed.paths,
        caller_reference,
    })
}

fn validate_path(path: &str) -> Result<(), ApiError> {
    if !path.starts_with('/') {
        return Err(invalid(format!(
            "Your request contains an invalid path: '{}'. Paths must begin with '/', cache tags with '#'.",
            clip(path, 120)
        )));
    }
    if path.chars().count() > MAX_PATH_LEN {
        return Err(invalid(format!(
            "Your request contains a path longer than {MAX_PATH_LEN} characters."
        )));
    }
    if let Some(pos) = path.find('*') {
        if pos != path.len() - 1 {
            return Err(invalid(format!(
                "Your request contains an invalid path: '{}'. The wildcard '*' may only be the last character.",
                clip(path, 120)
            )));
        }
    }
    Ok(())
}

/// Whether an item of `Paths` is a cache tag rather than a path.
fn is_tag(item: &str) -> bool {
    item.starts_with('#')
}

/// Checks a cache tag (`#` and the tag) against CloudFront's documented
/// rules.
fn validate_tag(item: &str) -> Result<(), ApiError> {
    let tag = &item[1..];
    let shown = clip(item, 120);
    if tag.is_empty() {
        return Err(invalid(format!(
            "The invalidation item {shown} is a cache tag with no name after the '#'."
        )));
    }
    if tag.chars().count() > MAX_CACHE_TAG_LEN {
        return Err(invalid(format!(
            "The invalidation item {shown} is a cache tag longer than {MAX_CACHE_TAG_LEN} characters."
        )));
    }
    if tag.contains('*') {
        return Err(invalid(format!(
            "The invalidation item {shown} is a cache tag, and cache tags do not support the wildcard '*'."
        )));
    }
    // ASCII visible characters (33 to 126), but the comma that separates tags.
    if let Some(bad) = tag.chars().find(|c| !('!'..='~').contains(c) || *c == ',') {
        return Err(invalid(format!(
            "The invalidation item {shown} contains a character CloudFront does not allow in a cache tag: '{}'",
            bad.escape_default()
        )));
    }
    Ok(())
}

fn is_wildcard(item: &str) -> bool {
    !is_tag(item) && item.ends_with('*')
}

/// (file paths, wildcard paths) in `paths`. CloudFront counts the two
/// against separate, independent quotas; a cache tag counts as a file path.
fn count_paths<'a>(paths: impl IntoIterator<Item = &'a String>) -> (usize, usize) {
    paths.into_iter().fold((0, 0), |(files, wild), p| {
        if is_wildcard(p) {
            (files, wild + 1)
        } else {
            (files + 1, wild)
        }
    })
}

fn create(shared: &Shared, owner: &Owner, body: &[u8], host: &str) -> Result<Reply, ApiError> {
    let batch = parse_batch(body)?;
    known_owner(shared, owner)?;
    if let Some(tag) = batch.paths.iter().find(|item| is_tag(item)) {
        if !shared.config.tag_distributions.contains(&owner.id) {
            return Err(invalid(format!(
                "The invalidation item {} is a cache tag, and {} {} has no CacheTagConfig.",
                clip(tag, 120),
                owner.noun(),
                owner.id
            )));
        }
    }
    let duration = shared.config.invalidation_duration;
    let now = shared.now();
    let mut inner = shared.lock();

    // The same CallerReference on the same distribution (or tenant) either
    // replays the original invalidation (same paths, compared as a set) or is
    // refused.
    if let Some(existing) = inner
        .invalidations
        .iter()
        .find(|inv| owner.owns(inv) && inv.caller_reference == batch.caller_reference)
    {
        let same: bool = existing.paths.iter().collect::<BTreeSet<_>>()
            == batch.paths.iter().collect::<BTreeSet<_>>();
        if !same {
            return Err(ApiError::new(
                409,
                "InvalidationBatchAlreadyExists",
                format!(
                    "An invalidation batch with CallerReference '{}' already exists with different paths.",
                    clip(&batch.caller_reference, 120)
                ),
            ));
        }
        let existing = existing.clone();
        return Ok(created_reply(&existing, now, duration, host));
    }

    let (files, wildcards) = count_paths(&batch.paths);
    if files > MAX_IN_PROGRESS_PATHS || wildcards > MAX_IN_PROGRESS_WILDCARDS {
        return Err(ApiError::new(
            413,
            "BatchTooLarge",
            format!(
                "Invalidation batch specified is too large: {files} file paths (max {MAX_IN_PROGRESS_PATHS}) and {wildcards} wildcard paths (max {MAX_IN_PROGRESS_WILDCARDS})."
            ),
        ));
    }
    let (busy_files, busy_wildcards) = count_paths(
        inner
            .invalidations
            .iter()
            .filter(|inv| owner.owns(inv) && inv.status(now, duration) == IN_PROGRESS)
            .flat_map(|inv| inv.paths.iter()),
    );
    if busy_files + files > MAX_IN_PROGRESS_PATHS
        || busy_wildcards + wildcards > MAX_IN_PROGRESS_WILDCARDS
    {
        return Err(ApiError::new(
            400,
            "TooManyInvalidationsInProgress",
            format!(
                "Processing your request would cause you to exceed the maximum number of in-progress invalidations: {busy_files} file paths and {busy_wildcards} wildcard paths are in progress (max {MAX_IN_PROGRESS_PATHS} and {MAX_IN_PROGRESS_WILDCARDS})."
            ),
        ));
    }

    let stored = StoredInvalidation {
        distribution_id: owner.id.clone(),
        tenant: owner.tenant,
        id: inner.new_invalidation_id(),
        caller_reference: batch.caller_reference,
        paths: batch.paths,
        created_at: now,
    };
    inner.invalidations.push(stored.clone());
    drop(inner);
    tracing::info!(
        distribution = %owner.id,
        tenant = owner.tenant,
        id = %stored.id,
        paths = stored.paths.len(),
        "created invalidation"
    );
    Ok(created_reply(&stored, now, duration, host))
}

/// 201 with `Location`, for a new invalidation or a replayed one: CloudFront
/// documents that a replay "returns information about the invalidation
/// request that you previously created", and the operation's only modelled
/// success code is 201.
fn created_reply(
    inv: &StoredInvalidation,
    now: SystemTime,
    duration: Duration,
    host: &str,
) -> Reply {
    Reply {
        status: 201,
        location: Some(format!(
            "http://{host}{API_PREFIX}{}/{}/invalidation/{}",
            if inv.tenant {
                "distribution-tenant"
            } else {
                "distribution"
            },
            inv.distribution_id,
            inv.id
        )),
        body: document(inv, now, duration),
    }
}

fn document(inv: &StoredInvalidation, now: SystemTime, duration: Duration) -> String {
    xml::invalidation_document(&InvalidationDoc {
        id: &inv.id,
        status: inv.status(now, duration),
        create_time: &format_timestamp(inv.created_at),
        paths: &inv.paths,
        caller_reference: &inv.caller_reference,
    })
}

fn get(shared: &Shared, owner: &Owner, id: &str) -> Result<Reply, ApiError> {
    let now = shared.now();
    let inner = shared.lock();
    let inv = inner
        .invalidations
        .iter()
        .find(|inv| owner.owns(inv) && inv.id == id)
        .ok_or_else(|| {
            ApiError::new(
                404,
                "NoSuchInvalidation",
                format!(
                    "The specified invalidation does not exist: {}",
                    clip(id, 120)
                ),
            )
        })?;
    Ok(Reply {
        status: 200,
        location: None,
        body: document(inv, now, shared.config.invalidation_duration),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let e1 = Owner::distribution("E1");
        assert_eq!(
            route("POST", "/2020-05-31/distribution/E1/invalidation").unwrap(),
            Route::Create { owner: e1.clone() }
        );
        assert_eq!(
            route("GET", "/2020-05-31/distribution/E1/invalidation/I2").unwrap(),
            Route::Get {
                owner: e1.clone(),
                id: "I2".into()
            }
        );
        let dt = Owner::tenant("dt_1");
        let create = route("POST", "/2020-05-31/distribution-tenant/dt_1/invalidation").unwrap();
        assert_eq!(create, Route::Create { owner: dt.clone() });
        assert_eq!(
            create.operation(),
            Operation::CreateInvalidationForDistributionTenant
        );
        let get = route(
            "GET",
            "/2020-05-31/distribution-tenant/dt_1/invalidation/I2",
        )
        .unwrap();
        assert_eq!(
            get,
            Route::Get {
                owner: dt.clone(),
                id: "I2".into()
            }
        );
        assert_eq!(
            get.operation(),
            Operation::GetInvalidationForDistributionTenant
        );
        // ListInvalidations and its tenant twin are not served.
        for not_served in [
            "/2020-05-31/distribution/E1/invalidation",
            "/2020-05-31/distribution-tenant/dt_1/invalidation",
            "/2020-05-31/distribution-tenant/dt_1",
            "/2020-05-31/distribution/E1",
            "/2020-05-31/other/E1/invalidation",
        ] {
            let err = route("GET", not_served).unwrap_err();
            assert_eq!((err.status, err.code.as_ref()), (404, "UnknownOperation"));
        }
        assert_eq!(
            route("DELETE", "/2020-05-31/distribution/E1/invalidation")
                .unwrap_err()
                .status,
            405
        );
    }

    #[test]
    fn validates_cache_tags() {
        for ok in ["#product-123", "#Brand:Acme", "#a%20b", "##", "#!~"] {
            assert!(validate_tag(ok).is_ok(), "{ok}");
        }
        assert!(validate_tag(&format!("#{}", "x".repeat(MAX_CACHE_TAG_LEN))).is_ok());
        for (bad, why) in [
            ("#", "no name"),
            (
                "#a,b",
                "character CloudFront does not allow in a cache tag: ','",
            ),
            ("#a b", "cache tag: ' '"),
            ("#caf\u{e9}", r"cache tag: '\u{e9}'"),
            ("#a\u{7}", r"cache tag: '\u{7}'"),
            ("#product*", "wildcard '*'"),
        ] {
            let err = validate_tag(bad).unwrap_err();
            assert_eq!(err.code, "InvalidArgument");
            assert!(err.message.contains(why), "{bad}: {}", err.message);
        }
        let long = validate_tag(&format!("#{}", "x".repeat(MAX_CACHE_TAG_LEN + 1))).unwrap_err();
        assert!(long.message.contains("longer than 256"), "{}", long.message);
        assert!(!is_wildcard("#x") && is_wildcard("/x*"));
    }

    #[test]
    fn validates_paths() {
        assert!(validate_path("/a/*").is_ok());
        assert!(validate_path("/*").is_ok());
        assert!(validate_path("a").is_err());
        assert!(validate_path("/a*/b").is_err());
        assert!(validate_path(&format!("/{}", "x".repeat(MAX_PATH_LEN))).is_err());
        assert!(validate_path(&format!("/{}", "x".repeat(MAX_PATH_LEN - 1))).is_ok());
    }
}
