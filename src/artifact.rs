//! Deterministic deployment packages: the zip of `lambda-artifacts/<fn>/` with sorted
//! entries, a fixed timestamp and fixed modes, so the same files always give the same
//! bytes, and its base64 SHA-256 equals Lambda's `CodeSha256` when nothing changed.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

/// A built package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The zip bytes.
    pub zip: Vec<u8>,
    /// Base64 SHA-256 of `zip`, as Lambda reports `CodeSha256`.
    pub sha256: String,
    /// Each packaged file's path and hex SHA-256, for plans.
    pub files: BTreeMap<String, String>,
}

/// Why a package could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The folder is missing or unreadable.
    #[error("cannot read the function source folder `{path}`: {source}")]
    Read {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The folder holds no file.
    #[error("the function source folder `{0}` holds no file")]
    Empty(PathBuf),
    /// Zipping failed.
    #[error("cannot zip `{path}`: {message}")]
    Zip {
        /// The folder.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), ArtifactError> {
    let read = |p: &Path, e| ArtifactError::Read {
        path: p.to_path_buf(),
        source: e,
    };
    for entry in std::fs::read_dir(dir).map_err(|e| read(dir, e))? {
        let entry = entry.map_err(|e| read(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Byte-code caches and editor files differ between machines; they are not source.
        if name == "__pycache__"
            || Path::new(&name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pyc"))
            || name.starts_with('.')
        {
            continue;
        }
        let kind = entry.file_type().map_err(|e| read(&path, e))?;
        if kind.is_dir() {
            collect(root, &path, out)?;
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
    Ok(())
}

/// Zips `dir` deterministically.
pub fn build(dir: &Path) -> Result<Artifact, ArtifactError> {
    let mut entries = Vec::new();
    collect(dir, dir, &mut entries)?;
    if entries.is_empty() {
        return Err(ArtifactError::Empty(dir.to_path_buf()));
    }
    entries.sort();
    let zip_err = |e: &dyn std::fmt::Display| ArtifactError::Zip {
        path: dir.to_path_buf(),
        message: e.to_string(),
    };
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut files = BTreeMap::new();
    for (name, path) in entries {
        let bytes = std::fs::read(&path).map_err(|e| ArtifactError::Read {
            path: path.clone(),
            source: e,
        })?;
        files.insert(name.clone(), hex(&Sha256::digest(&bytes)));
        writer.start_file(name, options).map_err(|e| zip_err(&e))?;
        writer.write_all(&bytes).map_err(|e| zip_err(&e))?;
    }
    let zip = writer.finish().map_err(|e| zip_err(&e))?.into_inner();
    let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
    Ok(Artifact { zip, sha256, files })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_files_give_the_same_bytes_whatever_their_mtime_or_order() {
        let a = tempfile::tempdir().unwrap();
        std::fs::write(a.path().join("b.py"), "print(2)\n").unwrap();
        std::fs::write(a.path().join("a.py"), "print(1)\n").unwrap();
        std::fs::create_dir(a.path().join("__pycache__")).unwrap();
        std::fs::write(a.path().join("__pycache__/a.cpython-312.pyc"), "junk").unwrap();
        let first = build(a.path()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(a.path().join("a.py"), "print(1)\n").unwrap();
        let second = build(a.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.files.keys().collect::<Vec<_>>(), vec!["a.py", "b.py"]);
        std::fs::write(a.path().join("a.py"), "print(3)\n").unwrap();
        assert_ne!(
            build(a.path()).unwrap().sha256,
            first.sha256,
            "an edit changes the hash"
        );
    }

    #[test]
    fn a_missing_or_empty_folder_is_a_clear_error() {
        let err = build(Path::new("/nonexistent/fn")).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot read the function source folder `/nonexistent/fn`")
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(build(empty.path()), Err(ArtifactError::Empty(_))));
    }
}
