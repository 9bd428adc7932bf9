//! The architecture rule: the pure layers never name the AWS SDK or tokio, so planning
//! cannot talk to AWS.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            // A resource's `aws` module is its I/O half; tests may use anything.
            if path.file_name().is_some_and(|n| n == "aws") {
                continue;
            }
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path
                .file_name()
                .is_some_and(|n| n == "aws.rs" || n == "tests.rs")
        {
            out.push(path);
        }
    }
}

#[test]
fn pure_layers_never_name_the_sdk_or_tokio() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for layer in ["stack", "plan", "render", "resources"] {
        sources(&src.join(layer), &mut files);
    }
    assert!(files.len() >= 10, "found the pure layers' files: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for forbidden in ["aws_sdk", "aws_smithy", "tokio", "async fn"] {
            assert!(
                !text.contains(forbidden),
                "{} names `{forbidden}`",
                file.display()
            );
        }
    }
}
