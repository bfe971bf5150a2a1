use super::{truncated, u32_le};

/// A WebP is complete when the file holds what its RIFF header announces,
/// and its chunks fit in the file.
pub(super) fn complete(bytes: &[u8]) -> Result<(), String> {
    let len = bytes.len() as u64;
    let riff = u64::from(u32_le(bytes, 4).unwrap_or(0));
    let riff_end = riff + 8;
    if riff_end > len {
        return Err(truncated(format!(
            "the RIFF header announces {riff_end} bytes; the file has {len}"
        )));
    }
    let mut at = 12u64;
    let mut chunks = 0;
    while at + 8 <= riff_end {
        let size = u64::from(u32_le(bytes, at as usize + 4).unwrap_or(0));
        let end = at + 8 + size;
        if end > len {
            let kind = bytes.get(at as usize..at as usize + 4).unwrap_or_default();
            return Err(truncated(format!(
                "the {} chunk at byte {at} needs {end} bytes; the file has {len}",
                String::from_utf8_lossy(kind).escape_debug()
            )));
        }
        // Chunks are padded to an even size.
        at = end + (size & 1);
        chunks += 1;
    }
    if chunks == 0 {
        return Err(truncated("the RIFF container holds no chunk"));
    }
    Ok(())
}
