//! What AWS allows, in one place: CloudFront's limits and identifier formats, the sizes
//! CodePipeline and Step Functions accept, and the limits this workflow sets from them. The
//! request checks, the planner, the token and the messages all read them here.

/// The longest accepted `timeoutSeconds`: CodePipeline fails any action after 24 hours.
pub const MAX_TIMEOUT_SECONDS: u64 = 86_400;
/// The most distributions one request may name. A run with a CodePipeline job must also fit
/// each one in a continuation token of at most 2048 characters (see [`crate::continuation::token_budget_used`]).
pub const MAX_DISTRIBUTIONS: usize = 40;
/// CloudFront's longest invalidation path.
pub const MAX_PATH_LENGTH: usize = 4000;
/// CloudFront's limit of file paths in progress per distribution.
pub const MAX_FILE_PATHS: usize = 3000;
/// CloudFront's limit of wildcard paths in progress per distribution.
pub const MAX_WILDCARD_PATHS: usize = 15;
/// The largest execution input accepted, in bytes. CheckStatus receives the input beside the
/// run's state, and Step Functions fails a task whose input passes 256 KiB with an error no
/// Catch can handle, so the two together must stay below that.
pub const MAX_INPUT_BYTES: usize = 160 * 1024;
/// The most invalidations (distributions × batches) one run creates; each takes about 290 bytes
/// of the run's state at most (an id, a status and three times).
pub const MAX_INVALIDATIONS_PER_RUN: usize = 400;
/// What a distribution tenant id starts with; a plain distribution id starts with `E`.
pub const TENANT_ID_PREFIX: &str = "dt_";

/// CloudFront's longest cache tag ("The maximum length of a tag is 256 characters"), counted
/// here without the `#`.
pub const MAX_TAG_LENGTH: usize = 256;

/// CodePipeline's longest continuation token.
pub const MAX_TOKEN_CHARS: usize = 2048;
/// A CloudFront distribution tenant id: `dt_` and letters or digits, at most 64 characters.
pub fn is_distribution_tenant_id(text: &str) -> bool {
    text.len() <= 64
        && text
            .strip_prefix(TENANT_ID_PREFIX)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A CloudFront distribution id: `E` and uppercase letters or digits, 6 to 32 characters.
pub fn is_distribution_id(text: &str) -> bool {
    (6..=32).contains(&text.len())
        && text.starts_with('E')
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A path that invalidates everything under a prefix; CloudFront counts these separately.
pub fn is_wildcard(path: &str) -> bool {
    path.ends_with('*')
}
