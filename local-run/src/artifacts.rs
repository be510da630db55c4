//! Input artifacts for local runs: a paths file zipped the way CodePipeline stores an artifact,
//! put where the job event says its input artifact is.

use std::io::Write;

use serde_json::{json, Map, Value};

use crate::RunError;

/// An object of the emulated artifact bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The bucket, from the job event's `inputArtifacts[0].location.s3Location`.
    pub bucket: String,
    /// The object key, from the same place.
    pub key: String,
    /// The zip.
    pub zip: Vec<u8>,
}

/// A zip holding `files` (name, contents), as a build stage's output artifact is stored.
pub fn zip_files(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, contents) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .and_then(|()| zip.write_all(contents).map_err(Into::into))
            .expect("writing to memory does not fail");
    }
    zip.finish()
        .expect("writing to memory does not fail")
        .into_inner()
}

/// An input artifact as CodePipeline stores it: a zip file as it is, or a directory's files
/// (names relative to it, `/`-separated) zipped.
pub fn zip_artifact(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    if path.is_file() {
        return std::fs::read(path);
    }
    let files = files_under(path)?;
    let borrowed: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .collect();
    Ok(zip_files(&borrowed))
}

/// Every file under `path`, by its name relative to it (`/`-separated), in name order.
pub fn files_under(path: &std::path::Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?.path();
            if entry.is_dir() {
                pending.push(entry);
            } else {
                let name = entry
                    .strip_prefix(path)
                    .expect("entries lie under the directory")
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push((name, std::fs::read(&entry)?));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Makes the job read its paths from `file_name` in its first input artifact: sets `pathsFile`
/// in its UserParameters (a bare distribution id becomes `{"distributionId": …}`) and returns
/// the artifact to put where the event says it is.
pub fn attach_paths_file(
    event: &mut Value,
    file_name: &str,
    contents: &[u8],
) -> Result<Artifact, RunError> {
    let data = event
        .pointer_mut("/CodePipeline.job/data")
        .ok_or_else(|| RunError::Setup("a paths file needs a CodePipeline job event".into()))?;
    let location = &data["inputArtifacts"][0]["location"]["s3Location"];
    let (Some(bucket), Some(key)) = (
        location["bucketName"].as_str(),
        location["objectKey"].as_str(),
    ) else {
        return Err(RunError::Setup(
            "the job event has no inputArtifacts[0] with an S3 location".into(),
        ));
    };
    let artifact = Artifact {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        zip: zip_files(&[(file_name, contents)]),
    };
    edit_user_parameters(data, |fields| {
        fields.insert("pathsFile".to_owned(), json!(file_name));
    });
    Ok(artifact)
}

/// Edits a job's UserParameters (`data` is the event's `data`) as the JSON object they hold; a
/// bare distribution id becomes `{"distributionId": …}` first.
pub fn edit_user_parameters(data: &mut Value, edit: impl FnOnce(&mut Map<String, Value>)) {
    let configuration = &mut data["actionConfiguration"]["configuration"];
    let text = configuration["UserParameters"].as_str().unwrap_or_default();
    let mut parameters: Value =
        serde_json::from_str(text).unwrap_or_else(|_| json!({"distributionId": text.trim()}));
    if let Some(fields) = parameters.as_object_mut() {
        edit(fields);
    }
    configuration["UserParameters"] = json!(parameters.to_string());
}

/// The access key id of the job's artifact credentials: the emulated artifact bucket opens to
/// it alone, as the real one opens to the credentials CodePipeline hands the job.
pub fn artifact_access_key(event: &Value) -> Option<String> {
    event
        .pointer("/CodePipeline.job/data/artifactCredentials/accessKeyId")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paths_file_is_named_in_user_parameters_and_zipped_at_the_artifact_location() {
        let mut event = json!({"CodePipeline.job": {"data": {
            "actionConfiguration": {"configuration": {"UserParameters": "E2QWRUHEXAMPLE"}},
            "inputArtifacts": [{"location": {"s3Location": {"bucketName": "b", "objectKey": "p/k"}}}]
        }}});
        let artifact = attach_paths_file(&mut event, "paths.txt", b"/a.html\n").unwrap();
        assert_eq!(
            (artifact.bucket.as_str(), artifact.key.as_str()),
            ("b", "p/k")
        );
        let parameters = event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]
            ["UserParameters"]
            .as_str()
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(parameters).unwrap(),
            json!({"distributionId": "E2QWRUHEXAMPLE", "pathsFile": "paths.txt"})
        );
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(artifact.zip)).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("paths.txt").unwrap(), &mut text)
            .unwrap();
        assert_eq!(text, "/a.html\n");
    }
}
