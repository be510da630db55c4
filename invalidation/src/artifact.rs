//! Paths from the build: a file of paths inside a CodePipeline input artifact.
//!
//! With the Lambda invoke action, a build step can write the paths it changed to a file (a JSON
//! list of strings, or one path per line) and pass it on as an input artifact of the
//! invalidation action; `UserParameters` names the file (`pathsFile`) and, when the action has
//! several input artifacts, which one (`pathsArtifact`). The artifact is a zip in the pipeline's
//! artifact bucket, readable with the temporary credentials CodePipeline puts in the job event,
//! which is why the file is read with those and never with the function's own role.
//!
//! The whole zip is downloaded, so it should be a small artifact of its own: anything larger
//! than [`MAX_ARTIFACT_BYTES`] is refused before it is read.

use std::io::{Cursor, Read};

use aws_sdk_s3::config::Credentials;

use crate::aws_error::classify;
use crate::error::{shorten, ErrorKind, WorkflowError};

/// The largest artifact read. A paths file of 10,000 paths zips to about 100 KiB; the limit
/// keeps the zip, the file and its planned paths well inside the function's 128 MB.
pub const MAX_ARTIFACT_BYTES: i64 = 16 * 1024 * 1024;
/// The largest paths file read, unzipped: about 200,000 paths. The plan made from it is kept in
/// the state bucket, not in the run's state, so its size is bounded only by the function's
/// memory.
pub const MAX_PATHS_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Where a paths file is, and the credentials that open it.
#[derive(Clone, PartialEq, Eq)]
pub struct PathsFile {
    /// The file's path inside the zip, as given in `pathsFile`.
    pub file: String,
    /// The input artifact's name in the pipeline.
    pub artifact: String,
    /// The artifact bucket.
    pub bucket: String,
    /// The artifact's object key.
    pub key: String,
    /// The job's temporary artifact credentials, when the input carries them (pipeline-entry
    /// starts the run without them, having read the file and planned already).
    pub credentials: Option<ArtifactCredentials>,
}

impl PathsFile {
    /// "paths.txt in artifact BuildOutput", for messages.
    pub fn describe(&self) -> String {
        format!(
            "`{}` in input artifact {}",
            shorten(&self.file),
            self.artifact
        )
    }
}

// The credentials must not reach a log through `{:?}`.
impl std::fmt::Debug for PathsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathsFile")
            .field("file", &self.file)
            .field("artifact", &self.artifact)
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The job event's `artifactCredentials`.
#[derive(Clone, PartialEq, Eq)]
pub struct ArtifactCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token.
    pub session_token: String,
}

/// Reads the bytes of an input artifact. The S3 implementation is [`S3Artifacts`]; tests give
/// their own.
pub trait ArtifactStore {
    /// The artifact's bytes (a zip).
    fn read_artifact(
        &self,
        file: &PathsFile,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, WorkflowError>> + Send;
}

/// Reads artifacts from S3 with the job's credentials. The base configuration supplies the
/// region and the endpoint (`AWS_ENDPOINT_URL_S3` points it at the local emulator).
#[derive(Debug, Clone)]
pub struct S3Artifacts {
    base: aws_sdk_s3::Config,
}

impl S3Artifacts {
    /// Artifacts read with `base`'s region and endpoint, and each job's credentials.
    pub fn new(base: aws_sdk_s3::Config) -> Self {
        Self { base }
    }
}

impl ArtifactStore for S3Artifacts {
    async fn read_artifact(&self, file: &PathsFile) -> Result<Vec<u8>, WorkflowError> {
        let Some(job_credentials) = &file.credentials else {
            return Err(WorkflowError::invalid_input(format!(
                "{} is read with the job's artifact credentials, and the input has none: a job's \
                 run is started by pipeline-entry, which reads the file and keeps the plan",
                file.describe()
            )));
        };
        let credentials = Credentials::new(
            &job_credentials.access_key_id,
            &job_credentials.secret_access_key,
            Some(job_credentials.session_token.clone()),
            None,
            "CodePipelineArtifactCredentials",
        );
        let config = self
            .base
            .to_builder()
            .credentials_provider(credentials)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        let call = format!(
            "GetObject s3://{}/{} (input artifact {})",
            file.bucket, file.key, file.artifact
        );
        let output = client
            .get_object()
            .bucket(&file.bucket)
            .key(&file.key)
            .send()
            .await
            .map_err(|e| classify(&call, e))?;
        let size = output.content_length().unwrap_or_default();
        if size > MAX_ARTIFACT_BYTES {
            return Err(WorkflowError::invalid_input(format!(
                "input artifact {} is {size} bytes, more than the {MAX_ARTIFACT_BYTES} read for \
                 a paths file: give the paths file an artifact of its own",
                file.artifact
            )));
        }
        let body = output.body.collect().await.map_err(|e| {
            WorkflowError::new(
                ErrorKind::ServiceUnavailable,
                format!("{call}: the download broke off: {e}"),
            )
        })?;
        // No copy: the collected buffer becomes the Vec.
        Ok(body.into_bytes().into())
    }
}

/// Reads the paths file out of the artifact's zip.
pub async fn read_paths(
    store: &impl ArtifactStore,
    file: &PathsFile,
) -> Result<Vec<String>, WorkflowError> {
    let zip = store.read_artifact(file).await?;
    let text = unzip_file(&zip, file)?;
    drop(zip);
    let paths = parse_paths(&text)
        .map_err(|reason| WorkflowError::invalid_input(format!("{}: {reason}", file.describe())))?;
    if paths.is_empty() {
        return Err(WorkflowError::invalid_input(format!(
            "{} lists no paths: write at least one (such as /index.html), or leave pathsFile \
             out to invalidate the request's paths",
            file.describe()
        )));
    }
    tracing::info!(file = %file.file, artifact = %file.artifact, paths = paths.len(), "paths file read");
    Ok(paths)
}

/// The text of one file of a zip.
fn unzip_file(zip: &[u8], file: &PathsFile) -> Result<String, WorkflowError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| {
        WorkflowError::invalid_input(format!(
            "input artifact {} is not a readable zip: {e}",
            file.artifact
        ))
    })?;
    let wanted = file.file.trim_start_matches("./");
    let Some(index) = archive.index_for_name(wanted) else {
        const LISTED: usize = 20;
        let mut names: Vec<String> = archive
            .file_names()
            .take(LISTED)
            .filter_map(Result::ok)
            .map(|name| name.into_owned())
            .collect();
        if archive.len() > LISTED {
            names.push(format!("and {} more", archive.len() - LISTED));
        }
        let holds = match names.is_empty() {
            true => "no file at all".to_owned(),
            false => shorten(&names.join(", ")),
        };
        return Err(WorkflowError::invalid_input(format!(
            "{} does not exist; the artifact holds: {holds}",
            file.describe(),
        )));
    };
    let mut entry = archive.by_index(index).map_err(|e| {
        WorkflowError::invalid_input(format!("{} cannot be read: {e}", file.describe()))
    })?;
    if entry.size() > MAX_PATHS_FILE_BYTES {
        return Err(WorkflowError::invalid_input(format!(
            "{} is {} bytes unzipped, more than the {MAX_PATHS_FILE_BYTES} read",
            file.describe(),
            entry.size()
        )));
    }
    let mut bytes = Vec::new();
    (&mut entry)
        .take(MAX_PATHS_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            WorkflowError::invalid_input(format!("{} cannot be unzipped: {e}", file.describe()))
        })?;
    String::from_utf8(bytes)
        .map_err(|_| WorkflowError::invalid_input(format!("{} is not UTF-8 text", file.describe())))
}

/// A JSON list of strings, or one item per line (blank lines skipped, `\r\n` accepted). A file
/// whose first character other than white space is `[` is read as JSON. An item is a path or a
/// cache tag: a line that starts with `#` is a tag (`#product-123`), never a comment.
pub fn parse_paths(text: &str) -> Result<Vec<String>, String> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('[') {
        return serde_json::from_str::<Vec<String>>(text)
            .map_err(|e| format!("not a JSON list of path strings: {e}"));
    }
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    struct InMemory(Vec<u8>);

    impl ArtifactStore for InMemory {
        async fn read_artifact(&self, _: &PathsFile) -> Result<Vec<u8>, WorkflowError> {
            Ok(self.0.clone())
        }
    }

    fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, text) in files {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(text.as_bytes()).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn paths_file(file: &str) -> PathsFile {
        PathsFile {
            file: file.into(),
            artifact: "BuildOutput".into(),
            bucket: "artifact-bucket".into(),
            key: "pipeline/BuildOutput/abc.zip".into(),
            credentials: Some(ArtifactCredentials {
                access_key_id: "AKIDVALUE".into(),
                secret_access_key: "SECRETVALUE".into(),
                session_token: "TOKENVALUE".into(),
            }),
        }
    }

    #[tokio::test]
    async fn a_newline_file_and_a_json_list_give_the_same_paths() {
        let store = InMemory(zip_of(&[
            ("paths.txt", "\u{feff}/index.html\r\n\n  /css/site.css \n"),
            ("out/paths.json", r#"["/index.html", "/css/site.css"]"#),
        ]));
        let from_lines = read_paths(&store, &paths_file("paths.txt")).await.unwrap();
        let from_json = read_paths(&store, &paths_file("./out/paths.json"))
            .await
            .unwrap();
        assert_eq!(from_lines, ["/index.html", "/css/site.css"]);
        assert_eq!(from_json, from_lines);
    }

    #[tokio::test]
    async fn a_missing_file_is_named_with_what_the_artifact_holds() {
        let store = InMemory(zip_of(&[("index.html", "<html>"), ("paths.txt", "/a")]));
        let error = read_paths(&store, &paths_file("path.txt"))
            .await
            .unwrap_err();
        assert_eq!(error.name(), "InvalidInput");
        assert_eq!(
            error.message,
            "`path.txt` in input artifact BuildOutput does not exist; the artifact holds: \
             index.html, paths.txt"
        );
    }

    #[tokio::test]
    async fn bad_files_are_invalid_input_naming_the_file() {
        let cases = [
            (
                zip_of(&[("p.json", "[\"/a\", 3]")]),
                "not a JSON list of path strings",
            ),
            (zip_of(&[("p.json", "\n\n")]), "lists no paths"),
            (b"not a zip".to_vec(), "is not a readable zip"),
        ];
        for (zip, expected) in cases {
            let error = read_paths(&InMemory(zip), &paths_file("p.json"))
                .await
                .unwrap_err();
            assert_eq!(error.name(), "InvalidInput");
            assert!(error.message.contains(expected), "{}", error.message);
        }
    }

    #[test]
    fn debug_output_leaves_the_credentials_out() {
        let shown = format!("{:?}", paths_file("paths.txt"));
        assert!(shown.contains("paths.txt"), "{shown}");
        for secret in ["AKIDVALUE", "SECRETVALUE", "TOKENVALUE"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn a_line_that_starts_with_a_hash_is_a_cache_tag() {
        let items = parse_paths("/index.html\r\n#product-123\n\n  #brand:acme  \n").unwrap();
        assert_eq!(items, ["/index.html", "#product-123", "#brand:acme"]);
    }
}
