//! What a person asks for, and the checks it must pass before anything is sent to AWS.
//!
//! The execution input takes one of three forms (see the README's Input section):
//! console input (`{"distributionId": …}`), the same keys as the JSON string of a CodePipeline
//! job's `UserParameters`, or a bare distribution id as `UserParameters`. [`parse_request`]
//! checks all three without calling AWS; [`ParsedRequest::read_and_plan`] then reads the paths
//! file of the job's input artifact, if `pathsFile` names one, and plans the paths into the
//! run's [`RunPlan`], which the step that planned keeps in the state bucket.

use aws_lambda_events::event::codepipeline_job::{CodePipelineData, CodePipelineJobEvent};
use serde::Deserialize;
use serde_json::Value;

use crate::artifact::{read_paths, ArtifactCredentials, ArtifactStore, PathsFile};
use crate::continuation::Continuation;
use crate::error::{shorten, ErrorKind, WorkflowError};
use crate::job::is_job_id;
use crate::limits::{
    is_distribution_id, is_distribution_tenant_id, MAX_DISTRIBUTIONS, MAX_INPUT_BYTES,
    MAX_INVALIDATIONS_PER_RUN, MAX_TIMEOUT_SECONDS,
};
use crate::payload::{from_json_text, from_value};
use crate::planning::{is_tag, plan, PlanOptions, TAG_MARK};
use crate::run::{RunPlan, PLAN_FORMAT};
use crate::site::{ChangesIn, SiteSource, SiteUpdate};
use crate::state_bucket::{find_changes, load_plan, store_plan, ObjectStore, WriteCondition};

pub use crate::job::CODEPIPELINE_JOB_KEY;

/// Paths invalidated when the request names none.
pub const DEFAULT_PATHS: [&str; 1] = ["/*"];
/// How long a run waits for `Completed` when the request does not say.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 3600;

/// A request whose every value was checked, before its paths file is read and its paths are
/// planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRequest {
    /// The CodePipeline job to report to, when the run was started with a job event.
    pub job_id: Option<String>,
    /// The distributions (or distribution tenants), without duplicates, in the order given.
    pub distribution_ids: Vec<String>,
    /// `paths` as given, if given.
    pub listed_paths: Option<Vec<String>>,
    /// `tags` as given, each with its `#` (added where the value had none), if given.
    pub listed_tags: Option<Vec<String>>,
    /// The paths file named by `pathsFile`, with where to read it.
    pub paths_file: Option<PathsFile>,
    /// The site bucket whose changes are invalidated (`changesIn`).
    pub site: Option<SiteSource>,
    /// How to plan; `collapseAbove` sets the collapse threshold.
    pub plan_options: PlanOptions,
    /// How long to wait for every invalidation to complete.
    pub timeout_seconds: u64,
    /// For a job CodePipeline created after an "in progress" reply: where the run to carry on
    /// left its state.
    pub continuation: Option<Continuation>,
}

/// The keys a person may set, in console input or in a JSON `UserParameters`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Parameters {
    distribution_id: Option<String>,
    distribution_ids: Option<Vec<String>>,
    paths: Option<Vec<String>>,
    /// Cache tags, with or without their `#`: planned with the paths, as `#tag` items.
    tags: Option<Vec<String>>,
    paths_file: Option<String>,
    paths_artifact: Option<String>,
    /// A site bucket whose changes since the last successful run are invalidated.
    changes_in: Option<ChangesIn>,
    /// A number of file paths, or `false` to never collapse; read by hand so that a bad value
    /// is named in the message.
    collapse_above: Option<Value>,
    timeout_seconds: Option<u64>,
}

/// Reads and checks the execution input, in any of its three forms, without calling AWS.
pub fn parse_request(input: &Value) -> Result<ParsedRequest, WorkflowError> {
    let Value::Object(fields) = input else {
        return Err(WorkflowError::invalid_input(format!(
            "the input must be a JSON object, not {}",
            describe_json_type(input)
        )));
    };
    let size = serde_json::to_vec(input).map_or(0, |bytes| bytes.len());
    if size > MAX_INPUT_BYTES {
        return Err(WorkflowError::invalid_input(format!(
            "the input is {size} bytes, more than the {MAX_INPUT_BYTES} accepted: list long path \
             lists in a paths file of the job's input artifact (pathsFile), or as directory \
             wildcards"
        )));
    }
    if !fields.contains_key(CODEPIPELINE_JOB_KEY) {
        let parameters: Parameters = from_value("input", input)?;
        return validate(parameters, None, None);
    }
    if let Some(other) = fields.keys().find(|key| *key != CODEPIPELINE_JOB_KEY) {
        return Err(WorkflowError::invalid_input(format!(
            "input: unknown key `{other}` beside `{CODEPIPELINE_JOB_KEY}`"
        )));
    }
    // Never format this event with `{:?}`: it holds the artifact credentials.
    let event: CodePipelineJobEvent = from_value("the CodePipeline job event", input)?;
    let job = event.code_pipeline_job;
    let job_id = job
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| WorkflowError::invalid_input("the CodePipeline job event has no job id"))?;
    if !is_job_id(&job_id) {
        return Err(WorkflowError::invalid_input(format!(
            "the CodePipeline job id `{}` is not a job id (CodePipeline's are UUIDs, such as \
             11111111-abcd-1111-abcd-111111abcdef)",
            shorten(&job_id)
        )));
    }
    let continuation = match job.data.continuation_token.as_deref() {
        Some(token) if !token.is_empty() => Some(Continuation::from_token(token)?),
        _ => None,
    };
    let user_parameters = job
        .data
        .action_configuration
        .configuration
        .user_parameters
        .clone()
        .unwrap_or_default();
    let mut request = validate(
        parse_user_parameters(&user_parameters)?,
        Some(job_id),
        Some(&job.data),
    )?;
    request.continuation = continuation;
    Ok(request)
}

/// `UserParameters` is one string: a bare distribution id, or a JSON object of [`Parameters`].
fn parse_user_parameters(text: &str) -> Result<Parameters, WorkflowError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(WorkflowError::invalid_input(
            "UserParameters is empty: set it to a distribution id, or to a JSON object such as \
             {\"distributionId\":\"E2QWRUHEXAMPLE\",\"paths\":[\"/*\"]}",
        ));
    }
    if text.starts_with('{') {
        return from_json_text("UserParameters", text);
    }
    if is_distribution_id(text) {
        return Ok(Parameters {
            distribution_id: Some(text.to_owned()),
            ..Parameters::default()
        });
    }
    Err(WorkflowError::invalid_input(format!(
        "UserParameters `{}` is neither a distribution id nor a JSON object",
        shorten(text)
    )))
}

fn validate(
    parameters: Parameters,
    job_id: Option<String>,
    job: Option<&CodePipelineData>,
) -> Result<ParsedRequest, WorkflowError> {
    let distribution_ids = match (parameters.distribution_id, parameters.distribution_ids) {
        (Some(_), Some(_)) => {
            return Err(WorkflowError::invalid_input(
                "give either distributionId or distributionIds, not both",
            ))
        }
        (None, None) => {
            return Err(WorkflowError::invalid_input(
                "no distribution: set distributionId (or distributionIds)",
            ))
        }
        (Some(id), None) => vec![id],
        (None, Some(ids)) if ids.is_empty() => {
            return Err(WorkflowError::invalid_input(
                "distributionIds is empty: name at least one distribution",
            ))
        }
        (None, Some(ids)) => ids,
    };
    let distribution_ids = without_duplicates(distribution_ids);
    if distribution_ids.len() > MAX_DISTRIBUTIONS {
        return Err(WorkflowError::invalid_input(format!(
            "{} distributions are more than the {MAX_DISTRIBUTIONS} one run may invalidate",
            distribution_ids.len()
        )));
    }
    if let Some(bad) = distribution_ids
        .iter()
        .find(|id| !is_distribution_id(id) && !is_distribution_tenant_id(id))
    {
        return Err(WorkflowError::invalid_input(format!(
            "distribution id `{}` is neither a CloudFront distribution id (an E followed by \
             uppercase letters and digits, such as E2QWRUHEXAMPLE) nor a distribution tenant id \
             (dt_ followed by letters and digits, such as dt_2wjDZi3hD1ivOXf6rpZJO1AB)",
            shorten(bad)
        )));
    }
    if parameters.paths.as_ref().is_some_and(Vec::is_empty) {
        return Err(WorkflowError::invalid_input(
            "paths is empty: name at least one path, or leave paths out to invalidate /*",
        ));
    }
    if parameters.tags.as_ref().is_some_and(Vec::is_empty) {
        return Err(WorkflowError::invalid_input(
            "tags is empty: name at least one cache tag, such as product-123, or leave tags out",
        ));
    }
    let listed_tags = parameters.tags.map(|tags| {
        tags.into_iter()
            .map(|tag| {
                if is_tag(&tag) {
                    tag
                } else {
                    format!("{TAG_MARK}{tag}")
                }
            })
            .collect()
    });
    let paths_file = match (parameters.paths_file, job) {
        (None, _) => {
            if let Some(artifact) = parameters.paths_artifact {
                return Err(WorkflowError::invalid_input(format!(
                    "pathsArtifact `{}` is set without pathsFile",
                    shorten(&artifact)
                )));
            }
            None
        }
        (Some(file), None) => {
            return Err(WorkflowError::invalid_input(format!(
                "pathsFile `{}` is read from a CodePipeline job's input artifact, and this input \
                 is not a job: list the paths in paths instead",
                shorten(&file)
            )))
        }
        (Some(file), Some(job)) => Some(locate_paths_file(
            file,
            parameters.paths_artifact.as_deref(),
            job,
        )?),
    };
    let site = parameters.changes_in.map(ChangesIn::check).transpose()?;
    let plan_options = PlanOptions {
        collapse_above: match parameters.collapse_above {
            None | Some(Value::Bool(true)) => PlanOptions::default().collapse_above,
            Some(Value::Bool(false)) => None,
            Some(Value::Number(count)) if count.as_u64().is_some() => {
                count.as_u64().map(|count| count as usize)
            }
            Some(other) => {
                return Err(WorkflowError::invalid_input(format!(
                    "collapseAbove `{}` is neither a number of file paths nor false",
                    shorten(&other.to_string())
                )))
            }
        },
        ..PlanOptions::default()
    };
    let timeout_seconds = parameters
        .timeout_seconds
        .unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    if !(1..=MAX_TIMEOUT_SECONDS).contains(&timeout_seconds) {
        return Err(WorkflowError::invalid_input(format!(
            "timeoutSeconds {timeout_seconds} is out of range: give 1 to {MAX_TIMEOUT_SECONDS}"
        )));
    }
    Ok(ParsedRequest {
        job_id,
        distribution_ids,
        listed_paths: parameters.paths,
        listed_tags,
        paths_file,
        site,
        plan_options,
        timeout_seconds,
        continuation: None,
    })
}

/// Finds the input artifact that holds the paths file: the one named by `pathsArtifact`, or
/// the action's only one.
fn locate_paths_file(
    file: String,
    artifact_name: Option<&str>,
    job: &CodePipelineData,
) -> Result<PathsFile, WorkflowError> {
    if file.trim().is_empty() {
        return Err(WorkflowError::invalid_input(
            "pathsFile is empty: name a file of the input artifact, such as paths.txt",
        ));
    }
    let names: Vec<&str> = job
        .input_artifacts
        .iter()
        .map(|artifact| artifact.name.as_deref().unwrap_or(""))
        .collect();
    let artifact = match artifact_name {
        Some(wanted) => job
            .input_artifacts
            .iter()
            .find(|artifact| artifact.name.as_deref() == Some(wanted))
            .ok_or_else(|| {
                WorkflowError::invalid_input(format!(
                    "pathsArtifact `{}` is not an input artifact of this action (it has: {})",
                    shorten(wanted),
                    names.join(", ")
                ))
            })?,
        None => match job.input_artifacts.as_slice() {
            [only] => only,
            [] => {
                return Err(WorkflowError::invalid_input(format!(
                    "pathsFile `{}` needs an input artifact, and the action has none",
                    shorten(&file)
                )))
            }
            _ => {
                return Err(WorkflowError::invalid_input(format!(
                    "the action has {} input artifacts ({}): set pathsArtifact to the one that \
                     holds pathsFile `{}`",
                    names.len(),
                    names.join(", "),
                    shorten(&file)
                )))
            }
        },
    };
    let name = artifact.name.clone().unwrap_or_default();
    let location = &artifact.location.s3_location;
    let (Some(bucket), Some(key)) = (&location.bucket_name, &location.object_key) else {
        return Err(WorkflowError::invalid_input(format!(
            "input artifact {name} has no S3 location"
        )));
    };
    // pipeline-entry starts the run without the credentials, having planned already; only a
    // step that plans needs them, and reading the file says so if they are missing.
    let credentials = &job.artifact_credentials;
    let credentials = match (
        &credentials.access_key_id,
        &credentials.secret_access_key,
        &credentials.session_token,
    ) {
        (Some(access_key_id), Some(secret_access_key), Some(session_token)) => {
            Some(ArtifactCredentials {
                access_key_id: access_key_id.clone(),
                secret_access_key: secret_access_key.clone(),
                session_token: session_token.clone(),
            })
        }
        _ => None,
    };
    Ok(PathsFile {
        file,
        artifact: name,
        bucket: bucket.clone(),
        key: key.clone(),
        credentials,
    })
}

impl ParsedRequest {
    /// The plan of the run named `run`: the one the state bucket holds (pipeline-entry planned
    /// it, or an earlier attempt of this step did), else planned now, reading the paths file,
    /// and stored. So each run is planned once.
    pub async fn plan_once(
        self,
        store: &impl ObjectStore,
        artifacts: &impl ArtifactStore,
        run: &str,
    ) -> Result<RunPlan, WorkflowError> {
        if let Some(plan) = load_plan(store, run).await? {
            if plan.job_id != self.job_id || plan.targets != self.distribution_ids {
                return Err(WorkflowError::new(
                    ErrorKind::PlanConflict,
                    format!(
                        "the state bucket holds a plan for run {run} of another job or other \
                         distributions than this input names"
                    ),
                ));
            }
            tracing::info!(run, "plan read from the state bucket");
            return Ok(plan);
        }
        let plan = self.read_and_plan(store, artifacts, run).await?;
        match store_plan(store, run, &plan).await {
            Ok(()) => Ok(plan),
            // Another attempt of this step planned the same run first (Lambda delivers an
            // asynchronous event at least once; Step Functions may retry an invocation still
            // running), and a site listed a moment apart can differ: the plan stored first is
            // the run's.
            Err(conflict) if conflict.kind == ErrorKind::PlanConflict => {
                match load_plan(store, run).await? {
                    Some(stored)
                        if stored.job_id == plan.job_id && stored.targets == plan.targets =>
                    {
                        tracing::info!(
                            run,
                            "another attempt planned this run first: its plan is kept"
                        );
                        Ok(stored)
                    }
                    _ => Err(conflict),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Reads the paths file, if `pathsFile` names one, finds what changed in the site, if
    /// `changesIn` names one, and plans. `run` is the run's name: its CallerReferences start
    /// with it when there is no job, and its listing of the site is kept under it.
    pub async fn read_and_plan(
        self,
        store: &impl ObjectStore,
        artifacts: &impl ArtifactStore,
        run: &str,
    ) -> Result<RunPlan, WorkflowError> {
        let from_file = match &self.paths_file {
            Some(file) => read_paths(artifacts, file).await?,
            None => Vec::new(),
        };
        let Some(site) = &self.site else {
            return self.plan(from_file, run);
        };
        let changes = find_changes(store, site, &self.distribution_ids, run).await?;
        let listing_key = changes.update.listing_key.clone();
        let plan = self.plan_with_changes(from_file, Some((changes.paths, changes.update)), run)?;
        // Kept until the run succeeds, when report-result makes it the site's manifest.
        store
            .put(&listing_key, changes.manifest, WriteCondition::Always)
            .await?;
        Ok(plan)
    }

    /// Plans `paths`, `tags` and the items read from the paths file together; with none of
    /// them, `/*`.
    pub fn plan(
        self,
        from_file: Vec<String>,
        reference_prefix: &str,
    ) -> Result<RunPlan, WorkflowError> {
        self.plan_with_changes(from_file, None, reference_prefix)
    }

    /// [`ParsedRequest::plan`], with the paths of what changed in the site beside the others.
    /// When nothing changed and nothing else is named, the plan is empty: the run creates no
    /// invalidation and succeeds.
    pub fn plan_with_changes(
        self,
        from_file: Vec<String>,
        changes: Option<(Vec<String>, SiteUpdate)>,
        reference_prefix: &str,
    ) -> Result<RunPlan, WorkflowError> {
        let from_a_file = self.paths_file.is_some();
        let (from_site, site) = match changes {
            Some((paths, update)) => (Some(paths), Some(update)),
            None => (None, None),
        };
        let requested: Vec<String> =
            match (self.listed_paths, self.listed_tags, from_a_file, from_site) {
                (None, None, false, None) => DEFAULT_PATHS.iter().map(|p| p.to_string()).collect(),
                (paths, tags, _, from_site) => paths
                    .into_iter()
                    .flatten()
                    .chain(tags.into_iter().flatten())
                    .chain(from_file)
                    .chain(from_site.into_iter().flatten())
                    .collect(),
            };
        // Nothing changed in the site and nothing else named: an empty plan, which creates
        // no invalidation.
        let (batches, tags) = match requested.is_empty() {
            true => (Vec::new(), 0),
            false => batches_of(&requested, &self.plan_options, self.distribution_ids.len())?,
        };
        Ok(RunPlan {
            v: PLAN_FORMAT,
            reference_prefix: self
                .job_id
                .clone()
                .unwrap_or_else(|| reference_prefix.to_owned()),
            job_id: self.job_id,
            targets: self.distribution_ids,
            batches,
            requested: requested.len(),
            tags,
            timeout_seconds: self.timeout_seconds,
            site,
        })
    }
}

/// The planned batches of `requested` for `targets` distributions, and how many of their items
/// are cache tags, within the invalidations one run may create.
fn batches_of(
    requested: &[String],
    options: &PlanOptions,
    targets: usize,
) -> Result<(Vec<Vec<String>>, usize), WorkflowError> {
    let plan = plan(requested, options)?;
    let batches: Vec<Vec<String>> = plan.batches.into_iter().map(|batch| batch.paths).collect();
    let invalidations = batches.len() * targets;
    if invalidations > MAX_INVALIDATIONS_PER_RUN {
        return Err(WorkflowError::invalid_input(format!(
            "{targets} distributions × {} batches make {invalidations} invalidations, more than \
             the {MAX_INVALIDATIONS_PER_RUN} one run creates: let the paths collapse \
             (collapseAbove) or split the distributions over several runs",
            batches.len()
        )));
    }
    tracing::info!(
        requested = plan.requested,
        items = plan.paths.len(),
        batches = batches.len(),
        targets,
        "request planned"
    );
    Ok((batches, plan.tags))
}

fn without_duplicates(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

fn describe_json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{MAX_FILE_PATHS, MAX_PATH_LENGTH};
    use serde_json::json;

    fn job_event(user_parameters: &str) -> Value {
        json!({"CodePipeline.job": {
            "id": "11111111-abcd-1111-abcd-111111abcdef",
            "accountId": "111111111111",
            "data": {
                "actionConfiguration": {"configuration": {
                    "FunctionName": "start-pipeline-run",
                    "UserParameters": user_parameters
                }},
                "inputArtifacts": [],
                "outputArtifacts": [],
                "artifactCredentials": {
                    "accessKeyId": "AKIAEXAMPLEKEY",
                    "secretAccessKey": "SECRETEXAMPLEVALUE",
                    "sessionToken": "TOKENEXAMPLEVALUE"
                }
            }
        }})
    }

    /// Parses and plans input that names no paths file, as the execution `run-42`.
    fn planned(input: &Value) -> Result<RunPlan, WorkflowError> {
        parse_request(input)?.plan(Vec::new(), "run-42")
    }

    /// Every planned item, batch after batch.
    fn items(plan: &RunPlan) -> Vec<String> {
        plan.batches.concat()
    }

    fn rejection(input: Value) -> String {
        let error = planned(&input).expect_err("input should be rejected");
        assert_eq!(error.name(), "InvalidInput");
        error.message
    }

    #[test]
    fn console_input_with_one_distribution_defaults_paths_and_timeout() {
        let request = planned(&json!({"distributionId": "E2QWRUHEXAMPLE"})).unwrap();
        assert_eq!(
            request,
            RunPlan {
                v: PLAN_FORMAT,
                job_id: None,
                reference_prefix: "run-42".into(),
                targets: vec!["E2QWRUHEXAMPLE".into()],
                batches: vec![vec!["/*".into()]],
                requested: 1,
                tags: 0,
                timeout_seconds: 3600,
                site: None,
            }
        );
    }

    #[test]
    fn distributions_keep_their_order_and_paths_are_planned() {
        let request = planned(&json!({
            "distributionIds": ["E2QWRUHEXAMPLE", "E1U5RQF7T870K0", "E2QWRUHEXAMPLE"],
            "paths": ["/index.html", "/css/*", "/index.html"],
            "timeoutSeconds": 900
        }))
        .unwrap();
        assert_eq!(request.targets, ["E2QWRUHEXAMPLE", "E1U5RQF7T870K0"]);
        assert_eq!(items(&request), ["/css/*", "/index.html"]);
        assert_eq!(request.requested, 3);
        assert_eq!(request.timeout_seconds, 900);
    }

    #[test]
    fn tags_in_paths_and_in_their_own_key_are_planned_together_as_written() {
        let request = planned(&json!({
            "distributionId": "E2QWRUHEXAMPLE",
            "paths": ["#product-123", "/a.html"],
            "tags": ["brand:acme", "#Product-123"]
        }))
        .unwrap();
        // `tags` values get their `#`; the two spellings of product-123 are one tag.
        assert_eq!(items(&request), ["#Product-123", "#brand:acme", "/a.html"]);
        assert_eq!(request.tags, 2);
        assert_eq!(request.requested, 4);
    }

    #[test]
    fn tags_alone_invalidate_no_path() {
        let request =
            planned(&json!({"distributionId": "E2QWRUHEXAMPLE", "tags": ["release-42"]})).unwrap();
        assert_eq!(items(&request), ["#release-42"]);
        assert_eq!(request.batches, [["#release-42"]]);
        let message = rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "tags": []}));
        assert_eq!(
            message,
            "tags is empty: name at least one cache tag, such as product-123, or leave tags out"
        );
        let message = rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "tags": ["a b"]}));
        assert!(
            message.starts_with("cache tag `#a b` holds a space"),
            "{message}"
        );
    }

    #[test]
    fn a_bare_distribution_id_in_user_parameters_is_accepted() {
        let request = planned(&job_event(" E2QWRUHEXAMPLE ")).unwrap();
        assert_eq!(
            request.job_id.as_deref(),
            Some("11111111-abcd-1111-abcd-111111abcdef")
        );
        assert_eq!(request.targets, ["E2QWRUHEXAMPLE"]);
        assert_eq!(items(&request), ["/*"]);
    }

    #[test]
    fn json_user_parameters_take_the_console_keys() {
        let request = planned(&job_event(
            r#"{"distributionIds":["E1U5RQF7T870K0"],"paths":["/a.html"]}"#,
        ))
        .unwrap();
        assert_eq!(request.targets, ["E1U5RQF7T870K0"]);
        assert_eq!(items(&request), ["/a.html"]);
    }

    #[test]
    fn user_parameters_that_are_neither_id_nor_json_are_named() {
        let message = rejection(job_event("my-distribution"));
        assert!(message.contains("`my-distribution`"), "{message}");
        let message = rejection(job_event(r#"{"distributionId": "E2QWRUHEXAMPLE""#));
        assert!(message.starts_with("UserParameters: EOF"), "{message}");
        let message = rejection(job_event(""));
        assert!(message.starts_with("UserParameters is empty"), "{message}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let message = rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "pathz": ["/"]}));
        assert!(message.contains("unknown field `pathz`"), "{message}");
        let message = rejection(job_event(r#"{"distributionId":"E2QWRUHEXAMPLE","ttl":1}"#));
        assert!(message.contains("unknown field `ttl`"), "{message}");
    }

    #[test]
    fn bad_distribution_ids_are_named() {
        for bad in ["e2qwruhexample", "X2QWRUHEXAMPLE", "E2Q", "E2QW RUHEXAMPLE"] {
            let message = rejection(json!({"distributionIds": ["E1U5RQF7T870K0", bad]}));
            assert!(message.contains(&format!("`{bad}`")), "{message}");
        }
        assert!(rejection(json!({"distributionIds": []})).contains("distributionIds is empty"));
        assert!(rejection(json!({})).starts_with("no distribution"));
        assert!(rejection(
            json!({"distributionId": "E1U5RQF7T870K0", "distributionIds": ["E2QWRUHEXAMPLE"]})
        )
        .contains("not both"));
    }

    #[test]
    fn bad_paths_are_named_with_the_rule_they_break() {
        let cases = [
            ("/img/*.png", "may hold * only as its last character"),
            ("/a\nb", "holds a control character"),
            ("", "is empty"),
        ];
        for (path, rule) in cases {
            let message = rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "paths": [path]}));
            assert!(message.contains(rule), "{message}");
            assert!(
                message.contains(&path.escape_debug().to_string()),
                "{message}"
            );
        }
        let long = format!("/{}", "a".repeat(MAX_PATH_LENGTH));
        let message = rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "paths": [long]}));
        assert!(message.contains("more than CloudFront's 4000"), "{message}");
        assert!(message.contains("/aaaa"), "{message}");
        let message = rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "paths": []}));
        assert!(message.starts_with("paths is empty"), "{message}");
    }

    #[test]
    fn paths_are_normalized_rather_than_rejected_where_the_fix_is_certain() {
        let request = planned(&json!({
            "distributionId": "E2QWRUHEXAMPLE",
            "paths": ["index.html", "/docs//Getting Started.html", "/img/*", "/img/logo.png"]
        }))
        .unwrap();
        assert_eq!(
            items(&request),
            ["/docs/Getting%20Started.html", "/img/*", "/index.html"]
        );
    }

    #[test]
    fn many_file_paths_collapse_into_wildcards_instead_of_failing() {
        let files: Vec<String> = (0..=MAX_FILE_PATHS)
            .map(|i| format!("/f/{i}.html"))
            .collect();
        let request =
            planned(&json!({"distributionId": "E2QWRUHEXAMPLE", "paths": files})).unwrap();
        assert_eq!(items(&request), ["/f/*"]);
        assert_eq!(request.requested, 3001);
    }

    #[test]
    fn more_wildcards_than_one_invalidation_may_hold_are_split_into_batches() {
        let wildcards: Vec<String> = (0..40).map(|i| format!("/d{i:02}/*")).collect();
        let request =
            planned(&json!({"distributionId": "E2QWRUHEXAMPLE", "paths": wildcards})).unwrap();
        let sizes: Vec<usize> = request.batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [15, 15, 10]);
        assert_eq!(items(&request).len(), 40);
    }

    #[test]
    fn inputs_and_plans_too_big_for_the_run_state_are_rejected() {
        let paths: Vec<String> = (0..8000)
            .map(|i| format!("/assets/file-{i:05}.js"))
            .collect();
        let message = rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "paths": paths}));
        assert!(message.starts_with("the input is "), "{message}");
        assert!(
            message.contains("more than the 163840 accepted"),
            "{message}"
        );

        let wildcards: Vec<String> = (0..200).map(|i| format!("/d{i:03}/*")).collect();
        let ids: Vec<String> = (0..35).map(|i| format!("E2QWRUHEXAMP{i:02}")).collect();
        let message = rejection(json!({"distributionIds": ids, "paths": wildcards}));
        assert_eq!(
            message,
            "35 distributions × 14 batches make 490 invalidations, more than the 400 one run \
             creates: let the paths collapse (collapseAbove) or split the distributions over \
             several runs"
        );
    }

    #[test]
    fn timeout_outside_one_second_to_a_day_is_rejected() {
        let messages: Vec<String> = [json!(0), json!(86_401), json!(-5), json!("60")]
            .into_iter()
            .map(|bad| {
                rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "timeoutSeconds": bad}))
            })
            .collect();
        assert_eq!(
            messages,
            [
                "timeoutSeconds 0 is out of range: give 1 to 86400",
                "timeoutSeconds 86401 is out of range: give 1 to 86400",
                "input: timeoutSeconds: invalid value: integer `-5`, expected a whole number",
                "input: timeoutSeconds: invalid type: string \"60\", expected a whole number",
            ]
        );
    }

    #[test]
    fn input_that_is_not_an_object_is_rejected() {
        assert_eq!(
            rejection(json!("E2QWRUHEXAMPLE")),
            "the input must be a JSON object, not a string"
        );
    }

    #[test]
    fn a_malformed_job_event_is_named_with_the_path_of_the_bad_value() {
        let mut event = job_event("E2QWRUHEXAMPLE");
        event["CodePipeline.job"]["data"]["artifactCredentials"]["secretAccessKey"] =
            json!(12345678901234u64);
        let message = rejection(event);
        // The parser quotes the bad value; the steps redact credentials from every message
        // (secrets.rs, and the steps' own tests).
        assert_eq!(
            message,
            "the CodePipeline job event: CodePipeline.job.data.artifactCredentials.\
             secretAccessKey: invalid type: integer `12345678901234`, expected a string"
        );
    }

    #[test]
    fn distribution_tenant_ids_are_accepted_beside_distribution_ids() {
        let request = planned(&json!({
            "distributionIds": ["dt_2wjDZi3hD1ivOXf6rpZJO1AB", "E2QWRUHEXAMPLE"]
        }))
        .unwrap();
        assert_eq!(
            request.targets,
            ["dt_2wjDZi3hD1ivOXf6rpZJO1AB", "E2QWRUHEXAMPLE"]
        );
        for bad in ["dt_", "dt_abc-def", "DT_abc"] {
            let message = rejection(json!({"distributionId": bad}));
            assert!(
                message.contains(&format!("`{bad}` is neither")),
                "{message}"
            );
        }
    }

    #[test]
    fn collapse_above_sets_or_switches_off_the_collapse() {
        let files: Vec<String> = (0..150).map(|i| format!("/f/{i}.html")).collect();
        let count = |collapse: Value| {
            planned(&json!({"distributionId": "E2QWRUHEXAMPLE", "paths": files, "collapseAbove": collapse}))
                .unwrap()
                .items()
        };
        assert_eq!(count(json!(100)), 1);
        assert_eq!(count(json!(true)), 1);
        assert_eq!(count(json!(200)), 150);
        assert_eq!(count(json!(false)), 150);
        let message = rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "collapseAbove": "no"}));
        assert_eq!(
            message,
            "collapseAbove `\"no\"` is neither a number of file paths nor false"
        );
        let message = rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "collapseAbove": -1}));
        assert_eq!(
            message,
            "collapseAbove `-1` is neither a number of file paths nor false"
        );
    }

    #[test]
    fn a_paths_file_is_located_in_the_named_or_only_input_artifact() {
        let mut event = job_event(r#"{"distributionId":"E2QWRUHEXAMPLE","pathsFile":"paths.txt"}"#);
        event["CodePipeline.job"]["data"]["inputArtifacts"] = json!([{
            "location": {"s3Location": {"bucketName": "artifacts", "objectKey": "p/Build/k1"}, "type": "S3"},
            "revision": null, "name": "BuildOutput"
        }]);
        let parsed = parse_request(&event).unwrap();
        let file = parsed.paths_file.as_ref().unwrap();
        assert_eq!(
            (
                file.artifact.as_str(),
                file.bucket.as_str(),
                file.key.as_str(),
                file.file.as_str()
            ),
            ("BuildOutput", "artifacts", "p/Build/k1", "paths.txt")
        );
        assert_eq!(
            file.credentials.as_ref().map(|c| c.access_key_id.as_str()),
            Some("AKIAEXAMPLEKEY")
        );
        // The file's paths are planned with the listed ones; without a listed one, no /*.
        let request = parsed.plan(vec!["/a.html".into()], "run-42").unwrap();
        assert_eq!(items(&request), ["/a.html"]);

        let mut two = event.clone();
        two["CodePipeline.job"]["data"]["inputArtifacts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"location": {"s3Location": {"bucketName": "b", "objectKey": "k2"}}, "name": "Source"}));
        let message = rejection(two.clone());
        assert!(
            message.contains("has 2 input artifacts (BuildOutput, Source)"),
            "{message}"
        );
        two["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = json!(
            r#"{"distributionId":"E2QWRUHEXAMPLE","pathsFile":"p.txt","pathsArtifact":"Source"}"#
        );
        assert_eq!(parse_request(&two).unwrap().paths_file.unwrap().key, "k2");
        two["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = json!(
            r#"{"distributionId":"E2QWRUHEXAMPLE","pathsFile":"p.txt","pathsArtifact":"Nope"}"#
        );
        assert!(rejection(two).contains("pathsArtifact `Nope` is not an input artifact"));
    }

    #[test]
    fn a_paths_file_needs_a_job_with_an_input_artifact() {
        let message = rejection(json!({"distributionId": "E2QWRUHEXAMPLE", "pathsFile": "p.txt"}));
        assert!(message.contains("this input is not a job"), "{message}");
        let message = rejection(job_event(
            r#"{"distributionId":"E2QWRUHEXAMPLE","pathsFile":"p.txt"}"#,
        ));
        assert!(message.contains("the action has none"), "{message}");
    }

    #[test]
    fn a_job_may_name_as_many_distributions_as_console_input() {
        let tenants: Vec<String> = (0..40)
            .map(|i| format!("dt_2wjDZi3hD1ivOXf6rpZJO{i:03}"))
            .collect();
        let parameters = json!({"distributionIds": tenants, "paths": ["/a/*", "/b/*"]});
        let plan = planned(&job_event(&parameters.to_string())).unwrap();
        assert_eq!(plan.targets.len(), 40);
        assert_eq!(
            plan.reference_prefix,
            "11111111-abcd-1111-abcd-111111abcdef"
        );
    }

    #[test]
    fn the_paths_of_a_former_entry_are_an_unknown_key() {
        let mut event = job_event("E2QWRUHEXAMPLE");
        event["pathsFromFile"] = json!({"file": "p.txt", "paths": ["/a"]});
        assert_eq!(
            rejection(event),
            "input: unknown key `pathsFromFile` beside `CodePipeline.job`"
        );
    }
}
