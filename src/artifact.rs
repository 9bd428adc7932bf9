//! Deterministic deployment packages: the zip of `lambda-artifacts/<fn>/` with sorted
//! entries, a fixed timestamp and fixed modes, so the same files always give the same
//! bytes, and its base64 SHA-256 equals Lambda's `CodeSha256` when nothing changed.
//!
//! The folder is walked before anything is read: sizes are added up as files are found and
//! the walk stops at Lambda's 250 MB limit, so a wrong `source` (`/usr`) fails in moments
//! instead of being zipped; a link out of the folder and a special file stop it too.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

/// Lambda's limit on the unzipped contents of a deployment package: 250 MB
/// (262,144,000 bytes; layers count too, and this tool adds none).
pub const MAX_UNZIPPED: u64 = 250 * 1024 * 1024;

/// Lambda's limit on a zip uploaded directly through the API (`ZipFile`): 50 MB. Larger
/// packages must go through S3, which this tool does not do.
pub const MAX_ZIPPED: u64 = 50 * 1024 * 1024;

/// A built package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The zip bytes.
    pub zip: Vec<u8>,
    /// Base64 SHA-256 of `zip`, as Lambda reports `CodeSha256`.
    pub sha256: String,
    /// Each packaged file's path (with `/`) and hex SHA-256, for plans and for the handler
    /// check, which looks for the handler's module among them.
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
    /// The files add up to more than Lambda takes unzipped; the walk stopped there.
    #[error(
        "the function source folder `{path}` holds more than Lambda's limit of 250 MB unzipped (262144000 bytes): the walk stopped at {seen} bytes, after {files} files, without zipping anything"
    )]
    TooLarge {
        /// The folder.
        path: PathBuf,
        /// Bytes counted when the limit was passed.
        seen: u64,
        /// Files counted by then.
        files: usize,
    },
    /// The zip is larger than a direct upload may be.
    #[error(
        "the package of `{path}` is {zipped} bytes zipped, more than Lambda's limit of 50 MB (52428800 bytes) for a direct upload"
    )]
    ZipTooLarge {
        /// The folder.
        path: PathBuf,
        /// The zip's size.
        zipped: u64,
    },
    /// A symbolic link points outside the folder: packaging it would ship files the
    /// folder does not hold (or loop), so it is refused, not followed.
    #[error(
        "`{link}` is a symbolic link to `{target}`, outside the function source folder `{root}`"
    )]
    LinkOutside {
        /// The link.
        link: PathBuf,
        /// Where it points.
        target: PathBuf,
        /// The folder.
        root: PathBuf,
    },
    /// A symbolic link whose target does not exist (or cannot be read).
    #[error("`{link}` is a symbolic link to nothing that can be read: {source}")]
    BrokenLink {
        /// The link.
        link: PathBuf,
        /// Why it cannot be followed.
        source: std::io::Error,
    },
    /// A FIFO, socket or device: not a file a package can hold (reading a FIFO would block).
    #[error("`{path}` is a {kind}, which a deployment package cannot hold")]
    Special {
        /// The entry.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// Zipping failed.
    #[error("cannot zip `{path}`: {message}")]
    Zip {
        /// The folder.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

impl ArtifactError {
    /// How to fix it, for the diagnostic at the function's `source:`.
    #[must_use]
    pub fn help(&self) -> &'static str {
        match self {
            ArtifactError::TooLarge { .. } | ArtifactError::ZipTooLarge { .. } => {
                "point `source` at the function's own folder (its code and dependencies only); larger packages need a container image or S3, which this tool does not upload"
            }
            ArtifactError::LinkOutside { .. } => {
                "copy what the link points to into the folder, or remove the link"
            }
            ArtifactError::BrokenLink { .. } => "remove the link, or make what it points to",
            ArtifactError::Special { .. } => "remove it from the folder",
            _ => {
                "`source` is relative to the stack file's folder, like `../lambda-artifacts/<function>`"
            }
        }
    }
}

/// The walk of a source folder: the files found so far (path in the zip, path on disk)
/// and their total size, checked against `MAX_UNZIPPED` as each is found.
struct Walk<'a> {
    root: &'a Path,
    /// The folder's real path, to tell links that stay inside it from those that leave.
    real_root: PathBuf,
    files: Vec<(String, PathBuf)>,
    bytes: u64,
    /// Real paths of the folders being walked, from the root down to the current one: a
    /// link to one of them would loop, so it is not followed. (Only these: a link to a
    /// sibling folder packages its files under both names, whatever the order of the walk.)
    ancestors: Vec<PathBuf>,
}

impl Walk<'_> {
    fn read_err(p: &Path, e: std::io::Error) -> ArtifactError {
        ArtifactError::Read {
            path: p.to_path_buf(),
            source: e,
        }
    }

    /// Adds one file of `size` bytes, stopping the walk once the limit is passed.
    fn add(&mut self, rel: String, path: PathBuf, size: u64) -> Result<(), ArtifactError> {
        self.bytes += size;
        self.files.push((rel, path));
        if self.bytes > MAX_UNZIPPED {
            return Err(ArtifactError::TooLarge {
                path: self.root.to_path_buf(),
                seen: self.bytes,
                files: self.files.len(),
            });
        }
        Ok(())
    }

    /// Walks `dir`, whose path in the zip is `prefix` (empty at the root).
    fn dir(&mut self, dir: &Path, prefix: &str) -> Result<(), ArtifactError> {
        let real = std::fs::canonicalize(dir).map_err(|e| Self::read_err(dir, e))?;
        if self.ancestors.contains(&real) {
            return Ok(());
        }
        self.ancestors.push(real);
        // In name order, so that which problem stops the walk first never depends on the
        // file system.
        let mut entries = std::fs::read_dir(dir)
            .map_err(|e| Self::read_err(dir, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Self::read_err(dir, e))?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
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
            let in_zip = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let mut meta = entry.metadata().map_err(|e| Self::read_err(&path, e))?;
            if meta.file_type().is_symlink() {
                let target =
                    std::fs::canonicalize(&path).map_err(|e| ArtifactError::BrokenLink {
                        link: path.clone(),
                        source: e,
                    })?;
                if !target.starts_with(&self.real_root) {
                    return Err(ArtifactError::LinkOutside {
                        link: path,
                        target,
                        root: self.root.to_path_buf(),
                    });
                }
                meta = std::fs::metadata(&target).map_err(|e| Self::read_err(&path, e))?;
            }
            let kind = meta.file_type();
            if kind.is_dir() {
                self.dir(&path, &in_zip)?;
            } else if kind.is_file() {
                self.add(in_zip, path, meta.len())?;
            } else {
                return Err(ArtifactError::Special {
                    path,
                    kind: special_kind(kind),
                });
            }
        }
        self.ancestors.pop();
        Ok(())
    }
}

/// What a special file is, for messages.
fn special_kind(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "named pipe (FIFO)";
        }
        if kind.is_socket() {
            return "socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "device";
        }
    }
    let _ = kind;
    "special file"
}

/// The files of `dir` to package, sorted, and their total size; stops with an error at the
/// first link out of the folder, special file, or byte past `MAX_UNZIPPED`, before any
/// file is read.
pub fn walk(dir: &Path) -> Result<(Vec<(String, PathBuf)>, u64), ArtifactError> {
    let real_root = std::fs::canonicalize(dir).map_err(|e| Walk::read_err(dir, e))?;
    let mut walk = Walk {
        root: dir,
        real_root,
        files: Vec::new(),
        bytes: 0,
        ancestors: Vec::new(),
    };
    walk.dir(dir, "")?;
    if walk.files.is_empty() {
        return Err(ArtifactError::Empty(dir.to_path_buf()));
    }
    walk.files.sort();
    Ok((walk.files, walk.bytes))
}

/// Zips `dir` deterministically: the files `walk` finds (links inside the folder are
/// packaged as the files they point to), read only once the walk has checked the limits.
pub fn build(dir: &Path) -> Result<Artifact, ArtifactError> {
    let (entries, _) = walk(dir)?;
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
    if zip.len() as u64 > MAX_ZIPPED {
        return Err(ArtifactError::ZipTooLarge {
            path: dir.to_path_buf(),
            zipped: zip.len() as u64,
        });
    }
    let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
    Ok(Artifact { zip, sha256, files })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
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

    #[test]
    fn links_inside_the_folder_are_packaged_and_links_out_of_it_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/b.py"), "y = 2\n").unwrap();
        std::os::unix::fs::symlink("a.py", dir.path().join("alias.py")).unwrap();
        // A link back up to the folder itself is not followed twice (no loop).
        std::os::unix::fs::symlink("..", dir.path().join("lib/up")).unwrap();
        let built = build(dir.path()).unwrap();
        assert_eq!(
            built.files.keys().collect::<Vec<_>>(),
            vec!["a.py", "alias.py", "lib/b.py"]
        );
        assert_eq!(built.files["a.py"], built.files["alias.py"]);
        // A link to a sibling folder packages its files under both names, in any order.
        std::os::unix::fs::symlink("lib", dir.path().join("vendor")).unwrap();
        let built = build(dir.path()).unwrap();
        assert_eq!(
            built.files.keys().collect::<Vec<_>>(),
            vec!["a.py", "alias.py", "lib/b.py", "vendor/b.py"]
        );
        std::os::unix::fs::symlink("missing.py", dir.path().join("broken.py")).unwrap();
        let err = build(dir.path()).unwrap_err();
        assert!(matches!(err, ArtifactError::BrokenLink { .. }), "{err}");
        std::fs::remove_file(dir.path().join("broken.py")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("lib/out")).unwrap();
        let err = build(dir.path()).unwrap_err();
        assert!(
            matches!(&err, ArtifactError::LinkOutside { link, .. } if link.ends_with("lib/out")),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("outside the function source folder"),
            "{err}"
        );
    }

    #[test]
    fn a_fifo_is_refused_by_name_not_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = build(dir.path()).unwrap_err();
        assert!(err.to_string().contains("named pipe (FIFO)"), "{err}");
        assert!(err.to_string().contains("pipe`"), "{err}");
    }

    #[test]
    fn the_walk_stops_at_the_unzipped_limit_before_reading_anything() {
        let dir = tempfile::tempdir().unwrap();
        // Sparse files: 3 × 100 MB of holes, so the test writes nothing to disk.
        for i in 0..3 {
            let f = std::fs::File::create(dir.path().join(format!("big{i}.bin"))).unwrap();
            f.set_len(100 * 1024 * 1024).unwrap();
        }
        let err = build(dir.path()).unwrap_err();
        assert!(
            matches!(err, ArtifactError::TooLarge { files: 3, seen, .. } if seen == 300 * 1024 * 1024),
            "{err}"
        );
        assert!(err.to_string().contains("250 MB unzipped"), "{err}");
    }
}
