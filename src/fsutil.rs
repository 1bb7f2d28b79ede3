//! File output that never leaves a half-written file behind.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: into a temporary file in the same directory, flushed,
/// then renamed over `path`. A crash or an error leaves either the old file or none.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path.file_name().with_context(|| format!("{}: not a file path", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp{}", file_name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("{}: cannot write", path.display()))
}

/// Creates `dir` (and parents) with an error naming it.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create output directory", dir.display()))
}

/// Builds a whole directory elsewhere and puts it at `dir` in one rename, so `dir` is never
/// half-written: `fill` writes into a fresh temporary directory beside `dir`; on success that
/// directory replaces `dir`, on error it is removed and `dir` is left as it was. An existing
/// non-empty `dir` is replaced only if `replaceable` says so (e.g. it is an earlier output of
/// the same program), never a user's other files; `check_replace` tells that up front.
pub fn replace_dir(
    dir: &Path,
    replaceable: impl Fn(&Path) -> bool,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    check_replace(dir, &replaceable)?;
    let (parent, name) = split_dir(dir)?;
    create_dir(parent)?;
    let staging = parent.join(format!(".{name}.tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging).with_context(|| format!("{}: cannot create", staging.display()))?;
    if let Err(e) = fill(&staging) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let swap = || -> std::io::Result<()> {
        if !dir.exists() {
            return std::fs::rename(&staging, dir);
        }
        let old = parent.join(format!(".{name}.old{}", std::process::id()));
        std::fs::rename(dir, &old)?;
        if let Err(e) = std::fs::rename(&staging, dir) {
            let _ = std::fs::rename(&old, dir);
            return Err(e);
        }
        std::fs::remove_dir_all(&old)
    };
    let result = swap();
    let _ = std::fs::remove_dir_all(&staging);
    result.with_context(|| format!("{}: cannot replace the output directory", dir.display()))
}

/// The error `replace_dir` would give for `dir` before any work: not a directory, or a
/// non-empty directory that `replaceable` does not accept.
pub fn check_replace(dir: &Path, replaceable: impl Fn(&Path) -> bool) -> Result<()> {
    split_dir(dir)?;
    if dir.exists() {
        if !dir.is_dir() {
            anyhow::bail!("{}: exists and is not a directory; expected an output directory", dir.display());
        }
        let empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty && !replaceable(dir) {
            anyhow::bail!(
                "{}: exists and holds other files; expected a new or empty directory, or an earlier output of this program (which is replaced)",
                dir.display()
            );
        }
    }
    Ok(())
}

fn split_dir(dir: &Path) -> Result<(&Path, String)> {
    let name =
        dir.file_name().with_context(|| format!("{}: expected a directory path ending in a name", dir.display()))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((parent, name.to_string_lossy().into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_dir_swaps_whole_directories_and_keeps_the_old_one_on_error() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("sub/out");
        let write = |name: &'static str| move |p: &Path| Ok(std::fs::write(p.join(name), b"x")?);
        replace_dir(&out, |_| true, write("a")).unwrap();
        assert!(out.join("a").exists());
        replace_dir(&out, |_| true, write("b")).unwrap();
        assert!(out.join("b").exists() && !out.join("a").exists(), "replaced, not merged");
        let e = replace_dir(
            &out,
            |_| true,
            |p: &Path| {
                std::fs::write(p.join("c"), b"x")?;
                anyhow::bail!("failed midway")
            },
        );
        assert!(e.is_err());
        assert!(out.join("b").exists() && !out.join("c").exists());
        let e = replace_dir(&out, |_| false, write("d")).unwrap_err().to_string();
        assert!(e.contains("holds other files"), "{e}");
        let names: Vec<_> = std::fs::read_dir(d.path().join("sub")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "no temporary left behind: {names:?}");
    }

    #[test]
    fn writes_whole_file_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.bin");
        write_atomic(&p, b"hello").unwrap();
        write_atomic(&p, b"bye").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"bye");
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn error_names_the_path() {
        let e = write_atomic(Path::new("/nonexistent-dir-cbnn/x.npy"), b"x").unwrap_err();
        assert!(format!("{e:#}").contains("/nonexistent-dir-cbnn/x.npy"));
    }
}
