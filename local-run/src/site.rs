//! A site for `changesIn` runs on this machine: a directory deployed to an emulated site bucket
//! as a deploy leaves it (every file put, nothing else there: what `aws s3 sync --delete` or
//! CodePipeline's S3 deploy action with Extract leaves), and the state bucket's manifests kept
//! in a directory from one local run to the next, so that the next run sees only what changed.

use std::path::{Path, PathBuf};

use invalidation::state_bucket::MANIFESTS_PREFIX;
use serde_json::{json, Map, Value};

use crate::artifacts::{edit_user_parameters, files_under};
use crate::deployment::LOCAL_STATE_BUCKET;
use crate::{Environment, RunError, SeededObject, Settings};

/// The emulated site bucket's name unless `--site-bucket` says otherwise.
pub const DEFAULT_SITE_BUCKET: &str = "local-site";
/// Where local runs keep the manifests, under the repository, unless `--kept-state` says
/// otherwise.
pub const DEFAULT_KEPT_STATE: &str = "target/local-run/kept-state";

/// A site directory to deploy, and where the manifests are kept.
#[derive(Debug, Clone)]
pub struct LocalSite {
    /// The directory whose files become the bucket's objects.
    pub directory: PathBuf,
    /// The emulated site bucket.
    pub bucket: String,
    /// Where the state bucket's `manifests/` are kept between runs.
    pub kept_state: PathBuf,
}

impl LocalSite {
    /// Puts the directory's files in the site bucket and the kept manifests in the state
    /// bucket; answers how many files and manifests.
    pub fn seed(&self, settings: &mut Settings) -> Result<(usize, usize), RunError> {
        let setup =
            |what: &Path, e: std::io::Error| RunError::Setup(format!("{}: {e}", what.display()));
        let files = files_under(&self.directory).map_err(|e| setup(&self.directory, e))?;
        let count = files.len();
        settings.buckets.push(self.bucket.clone());
        settings
            .objects
            .extend(files.into_iter().map(|(key, body)| SeededObject {
                bucket: self.bucket.clone(),
                key,
                body,
            }));
        let manifests = self.kept_state.join(MANIFESTS_PREFIX);
        let kept = match manifests.is_dir() {
            true => files_under(&manifests).map_err(|e| setup(&manifests, e))?,
            false => Vec::new(),
        };
        let kept_count = kept.len();
        settings
            .objects
            .extend(kept.into_iter().map(|(name, body)| SeededObject {
                bucket: LOCAL_STATE_BUCKET.to_owned(),
                key: format!("{MANIFESTS_PREFIX}{name}"),
                body,
            }));
        Ok((count, kept_count))
    }

    /// Copies the state bucket's manifests, as the run left them, into the kept state; answers
    /// how many.
    pub fn keep(&self, environment: &Environment) -> Result<usize, RunError> {
        let mut kept = 0;
        for object in environment.snapshot().objects {
            if object.bucket != LOCAL_STATE_BUCKET || !object.key.starts_with(MANIFESTS_PREFIX) {
                continue;
            }
            let Some(body) = environment.object_body(&object.bucket, &object.key) else {
                continue;
            };
            let path = self.kept_state.join(&object.key);
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, body));
            written.map_err(|e| RunError::Setup(format!("{}: {e}", path.display())))?;
            kept += 1;
        }
        Ok(kept)
    }
}

/// Names the site bucket as `changesIn` in the input (console input, or a job event's
/// UserParameters) unless it names one already.
pub fn name_site(input: &mut Value, bucket: &str) {
    let name = |fields: &mut Map<String, Value>| {
        fields
            .entry("changesIn")
            .or_insert_with(|| json!({"bucket": bucket}));
    };
    match input.pointer_mut("/CodePipeline.job/data") {
        Some(data) => edit_user_parameters(data, name),
        None => {
            if let Some(fields) = input.as_object_mut() {
                name(fields);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_bucket_is_named_in_console_input_and_in_user_parameters() {
        let mut console = json!({"distributionId": "E2QWRUHEXAMPLE"});
        name_site(&mut console, "local-site");
        assert_eq!(console["changesIn"], json!({"bucket": "local-site"}));
        let mut job = json!({"CodePipeline.job": {"data": {
            "actionConfiguration": {"configuration": {"UserParameters": "E2QWRUHEXAMPLE"}}
        }}});
        name_site(&mut job, "local-site");
        let parameters = job["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]
            ["UserParameters"]
            .as_str()
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(parameters).unwrap(),
            json!({"distributionId": "E2QWRUHEXAMPLE", "changesIn": {"bucket": "local-site"}})
        );
        // A changesIn given is kept as given.
        let mut given =
            json!({"distributionId": "E1", "changesIn": {"bucket": "b", "prefix": "p/"}});
        name_site(&mut given, "local-site");
        assert_eq!(given["changesIn"]["prefix"], "p/");
        name_site(&mut job, "another-site");
        let parameters = job["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]
            ["UserParameters"]
            .as_str()
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(parameters).unwrap()["changesIn"],
            json!({"bucket": "local-site"})
        );
    }
}
