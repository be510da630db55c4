//! Helpers shared by the workspace-level tests: where the repository is, and its files.

use std::path::PathBuf;

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// A repository file's text, with its path in the panic message when it is missing.
pub fn read_repo_file(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JSON file of the repository.
pub fn read_repo_json(relative: &str) -> serde_json::Value {
    serde_json::from_str(&read_repo_file(relative))
        .unwrap_or_else(|e| panic!("{relative} is not JSON: {e}"))
}
