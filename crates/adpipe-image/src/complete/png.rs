use super::{truncated, u32_be};

/// A PNG is complete when its chunks, each jumped over by its length, lead
/// to IEND. Bytes after IEND are ignored, as decoders do.
pub(super) fn complete(bytes: &[u8]) -> Result<(), String> {
    let mut at = 8u64;
    let len = bytes.len() as u64;
    loop {
        let Some(length) = u32_be(bytes, at as usize) else {
            return Err(truncated(if at == len {
                "it ends before the IEND chunk".to_owned()
            } else {
                format!("it ends inside the chunk header at byte {at}")
            }));
        };
        let Some(kind) = bytes.get(at as usize + 4..at as usize + 8) else {
            return Err(truncated(format!(
                "it ends inside the chunk header at byte {at}"
            )));
        };
        let end = at + 12 + u64::from(length);
        if end > len {
            return Err(truncated(format!(
                "the {} chunk at byte {at} needs {end} bytes; the file has {len}",
                String::from_utf8_lossy(kind).escape_debug()
            )));
        }
        if kind == b"IEND" {
            return Ok(());
        }
        at = end;
    }
}
