//! Writing outputs atomically: into a temporary file beside the target, then renamed over it,
//! so a reader never sees a torn file and a killed run leaves the old one.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Writes `path` through `write`, atomically; `-` writes to stdout.
pub fn write_atomic<T>(
    path: &Path,
    write: impl FnOnce(&mut (dyn Write + Send)) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if path == Path::new("-") {
        let mut stdout = std::io::BufWriter::new(std::io::stdout());
        let value = write(&mut stdout)?;
        stdout.flush().context("writing to stdout")?;
        return Ok(value);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".rightsize-");
    // A temporary file is private (0600); the finished output should read like any other file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir).with_context(|| {
        format!(
            "{}: cannot create a temporary file beside it",
            path.display()
        )
    })?;
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
    let value =
        write(&mut buffered).with_context(|| format!("{}: writing failed", path.display()))?;
    buffered
        .flush()
        .with_context(|| format!("{}: writing failed", path.display()))?;
    drop(buffered);
    tmp.as_file_mut()
        .sync_all()
        .with_context(|| format!("{}: flushing failed", path.display()))?;
    tmp.persist(path).with_context(|| {
        format!(
            "{}: cannot move the finished file into place",
            path.display()
        )
    })?;
    Ok(value)
}
