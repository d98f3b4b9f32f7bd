//! Output files (`--capture`, `--plot`): written to a temporary file beside the path and
//! renamed over it once complete, so a run that fails — a missing device, a refused
//! connection — leaves the file that was there as it was, never empty or half written.
//!
//! [`OutFile::create`] checks at once that the path can be written (without truncating what
//! is there), so a bad path is found before the run.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

/// A file being written in place of `path`; see the [module docs](self).
#[derive(Debug)]
pub struct OutFile {
    path: PathBuf,
    tmp: PathBuf,
    /// `None` once committed.
    file: Option<File>,
}

impl OutFile {
    /// Starts writing what will replace `path` (through a symbolic link, its target), once
    /// [`Self::commit`]ted; an error when `path` cannot be written.
    pub fn create(path: &str) -> io::Result<Self> {
        let given = Path::new(path);
        let path = fs::canonicalize(given).unwrap_or_else(|_| given.to_path_buf());
        let old = fs::metadata(&path).ok();
        if old.is_some() {
            // Can it be written? Opened without truncating (a directory fails here too).
            OpenOptions::new().write(true).open(&path)?;
        }
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(ErrorKind::InvalidInput, "the path names no file"))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".ferrule-{}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let file = File::create(&tmp)?;
        if let Some(m) = old {
            let _ = fs::set_permissions(&tmp, m.permissions()); // keep the old file's mode
        }
        Ok(Self {
            path,
            tmp,
            file: Some(file),
        })
    }

    /// Puts the complete file in place of the path.
    pub fn commit(mut self) -> io::Result<()> {
        let Some(mut f) = self.file.take() else {
            return Ok(());
        };
        let done = f
            .flush()
            .and_then(|()| f.sync_all())
            .and_then(|()| fs::rename(&self.tmp, &self.path));
        if done.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        done
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the file was committed"))
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

/// Not committed: the temporary file goes, the old file stays.
impl Drop for OutFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ferrule-outfile-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_old_file_stays_until_the_new_one_is_complete() {
        let d = dir("replace");
        let p = d.join("out.txt");
        fs::write(&p, "old").unwrap();
        let mut f = OutFile::create(p.to_str().unwrap()).unwrap();
        f.write_all(b"new").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        drop(f); // a failed run
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(
            fs::read_dir(&d).unwrap().count(),
            1,
            "no temporary file left"
        );
        let mut f = OutFile::create(p.to_str().unwrap()).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
    }

    #[test]
    fn a_path_that_cannot_be_written_fails_at_once() {
        let d = dir("bad");
        assert!(OutFile::create(d.to_str().unwrap()).is_err(), "a directory");
        let missing = d.join("no/such/dir/f");
        let e = OutFile::create(missing.to_str().unwrap()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(fs::read_dir(&d).unwrap().count(), 0);
    }
}
