//! File output that never leaves a half-written file behind.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` as an `OutputFile`: a regular file appears whole or not at all.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OutputFile::create(path)?;
    f.write_all(bytes).with_context(|| format!("{}: cannot write", path.display()))?;
    f.commit()
}

/// An output file that is never half-written and never replaces what is not a regular file.
///
/// - A new path, or a regular file: written to a temporary file beside it, flushed, and renamed
///   over it by `commit`. An error (or a drop without `commit`) removes the temporary file and
///   leaves the old file, or none.
/// - A symlink: the same, at the file it points to; the link stays.
/// - Anything else (a FIFO, a device such as `/dev/null` or `/dev/stdout`): written in place,
///   as `cat > path` would. Renaming over it would replace a device node with a regular file.
pub struct OutputFile {
    file: std::fs::File,
    path: PathBuf,
    /// The temporary file `commit` renames to `target`; `None` when written in place.
    staged: Option<(PathBuf, PathBuf)>,
}

impl OutputFile {
    pub fn create(path: &Path) -> Result<Self> {
        let cannot = || format!("{}: cannot write", path.display());
        // Follow a symlink to what it names (a dangling one: to the path it would create).
        let target = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).unwrap_or_else(|_| {
                let link = std::fs::read_link(path).unwrap_or(path.to_path_buf());
                path.parent().map_or(link.clone(), |dir| dir.join(&link))
            }),
            _ => path.to_path_buf(),
        };
        // The system's own names for open files and devices (/dev/stdout, /proc/self/fd/1) are
        // written in place whatever they point at.
        let system = [path, target.as_path()].iter().any(|p| p.starts_with("/dev") || p.starts_with("/proc"));
        match std::fs::metadata(&target) {
            Ok(m) if m.is_dir() => anyhow::bail!("{}: is a directory; expected a file path", path.display()),
            Ok(m) if !m.is_file() || system => {
                let file =
                    std::fs::OpenOptions::new().write(true).truncate(m.is_file()).open(&target).with_context(cannot)?;
                return Ok(OutputFile { file, path: path.to_path_buf(), staged: None });
            }
            _ => {}
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target.file_name().with_context(|| format!("{}: not a file path", path.display()))?;
        let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
        let file = std::fs::File::create(&tmp).with_context(cannot)?;
        Ok(OutputFile { file, path: path.to_path_buf(), staged: Some((tmp, target)) })
    }

    /// Flushes the file and puts it at its path.
    pub fn commit(mut self) -> Result<()> {
        let path = self.path.clone();
        let result = (|| -> std::io::Result<()> {
            self.file.flush()?;
            if let Some((tmp, target)) = self.staged.take() {
                self.file.sync_all()?;
                if let Err(e) = std::fs::rename(&tmp, &target) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            }
            Ok(())
        })();
        result.with_context(|| format!("{}: cannot write", path.display()))
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.staged.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// The largest text file (config, network, sweep) the programs read: 64 MiB.
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// Reads at most `max` bytes of `path`; a file that holds more (or never ends, `/dev/zero`) is
/// an error naming it and `what` it should have been, before more than `max` bytes are held.
pub fn read_limited(path: &Path, max: u64, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path).with_context(|| format!("{}: cannot read {what}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(max + 1).read_to_end(&mut bytes).with_context(|| format!("{}: cannot read {what}", path.display()))?;
    if bytes.len() as u64 > max {
        anyhow::bail!("{}: larger than {} MiB; expected a {what}", path.display(), max >> 20);
    }
    Ok(bytes)
}

/// Reads a UTF-8 text file of at most `MAX_TEXT_BYTES` (a config, network or sweep file).
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    let bytes = read_limited(path, MAX_TEXT_BYTES, what)?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: not UTF-8 text; expected a {what}", path.display()))
}

/// Creates `dir` (and parents) with an error naming it.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create output directory", dir.display()))
}

/// What can be checked of an output directory before any work, creating nothing: a path that
/// exists must be a directory. The directory itself is created once the work has succeeded, so
/// an error leaves no empty directory behind.
pub fn check_out_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!("{}: exists and is not a directory; expected an output directory", dir.display());
    }
    Ok(())
}

/// Creates `dir` for a fresh dump of layer outputs, first removing the dump files
/// (`NN_NAME.npy`) an earlier run left there, so that a new dump is never mixed with an old one
/// of another network. Other files stay.
pub fn fresh_layer_dump_dir(dir: &Path) -> Result<()> {
    create_dir(dir)?;
    let entries = std::fs::read_dir(dir).with_context(|| format!("{}: cannot read", dir.display()))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let numbered =
            name.len() > 3 && name.as_bytes()[..2].iter().all(u8::is_ascii_digit) && name.as_bytes()[2] == b'_';
        if numbered && name.ends_with(".npy") && e.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(e.path()).with_context(|| format!("{}: cannot remove", e.path().display()))?;
        }
    }
    Ok(())
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
    fn what_is_not_a_regular_file_is_written_in_place_never_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let d = tempfile::tempdir().unwrap();
        // A FIFO with a reader: the bytes arrive through it and it stays a FIFO.
        let fifo = d.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().map(|s| s.success()).unwrap_or(false);
        if made {
            let reader = {
                let fifo = fifo.clone();
                std::thread::spawn(move || std::fs::read(fifo).unwrap())
            };
            write_atomic(&fifo, b"through the pipe").unwrap();
            assert_eq!(reader.join().unwrap(), b"through the pipe");
            assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        }
        // A device: /dev/null takes the bytes and stays a device.
        write_atomic(Path::new("/dev/null"), b"gone").unwrap();
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
        // A symlink to a regular file: the file is replaced whole, the link stays a link.
        let real = d.path().join("real.txt");
        std::fs::write(&real, b"old contents, longer").unwrap();
        let link = d.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        // A directory is refused, naming the path.
        let e = write_atomic(d.path(), b"x").unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
    }

    #[test]
    fn an_output_file_dropped_before_commit_leaves_the_old_file_and_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.vcd");
        std::fs::write(&p, b"old").unwrap();
        let mut f = OutputFile::create(&p).unwrap();
        f.write_all(b"half of the new").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_fresh_layer_dump_removes_the_old_dump_and_keeps_other_files() {
        let d = tempfile::tempdir().unwrap();
        let layers = d.path().join("layers");
        std::fs::create_dir(&layers).unwrap();
        for f in ["00_conv1.npy", "07_fc.npy", "notes.txt", "x.npy"] {
            std::fs::write(layers.join(f), b"x").unwrap();
        }
        fresh_layer_dump_dir(&layers).unwrap();
        let mut left: Vec<_> = std::fs::read_dir(&layers).unwrap().map(|e| e.unwrap().file_name()).collect();
        left.sort();
        assert_eq!(left, ["notes.txt", "x.npy"]);
        assert!(check_out_dir(&layers.join("notes.txt")).is_err() && check_out_dir(&layers).is_ok());
    }

    #[test]
    fn error_names_the_path() {
        let e = write_atomic(Path::new("/nonexistent-dir-cbnn/x.npy"), b"x").unwrap_err();
        assert!(format!("{e:#}").contains("/nonexistent-dir-cbnn/x.npy"));
    }
}
