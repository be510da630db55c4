//! fault-matrix: runs every case of the fault matrix (four at a time) and prints the table; the
//! work is [`local_run::matrix`]. Exits 1 when a case does not end as it must.

use futures_util::stream::{self, StreamExt};
use local_run::matrix::{cases, run_case, table};
use local_run::repo_root;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let root = repo_root();
    // MATRIX_CASES=text runs only the cases whose name holds it.
    let only = std::env::var("MATRIX_CASES").unwrap_or_default();
    let cases: Vec<_> = cases()
        .into_iter()
        .filter(|case| case.name.contains(&only))
        .collect();
    // A case mostly waits (the SDK's backoff, Lambda's timeout), so four at a time fit two
    // cores: the matrix takes about half as long as two at a time.
    let reports: Vec<_> = stream::iter(cases.iter().enumerate())
        .map(|(number, case)| run_case(&root, number, case))
        .buffered(4)
        .collect()
        .await;
    let mut passed = true;
    let mut rows = Vec::new();
    for report in reports {
        match report {
            Ok(report) => {
                passed &= report.passed;
                rows.push(report);
            }
            Err(error) => {
                eprintln!("fault-matrix: {error}");
                passed = false;
            }
        }
    }
    println!("{}", table(&rows));
    let failed: Vec<&str> = rows
        .iter()
        .filter(|report| !report.passed)
        .map(|report| report.case.name.as_str())
        .collect();
    if !failed.is_empty() {
        eprintln!("cases that did not end as they must: {}", failed.join("; "));
    }
    if passed {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}
