//! Reading a file that an operator or another system writes, without
//! trusting its size.

use std::io::Read as _;
use std::path::Path;

/// The file's bytes, up to one past `max`: enough for the caller to refuse
/// an oversized file, without reading all of a huge or endless one.
pub(crate) fn read_file(path: &Path, max: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
