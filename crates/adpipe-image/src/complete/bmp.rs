use super::{truncated, u16_le, u32_le};

/// A BMP is complete when the file is as long as its header says (0 means
/// unknown, as some writers leave it) and, uncompressed, holds every row.
pub(super) fn complete(bytes: &[u8]) -> Result<(), String> {
    let len = bytes.len() as u64;
    let (Some(file_size), Some(offset)) = (u32_le(bytes, 2), u32_le(bytes, 10)) else {
        return Err(truncated("it ends inside the file header"));
    };
    let (file_size, offset) = (u64::from(file_size), u64::from(offset));
    if file_size > len {
        return Err(truncated(format!(
            "the header announces {file_size} bytes; the file has {len}"
        )));
    }
    if offset >= len {
        return Err(truncated(format!(
            "the pixels should start at byte {offset}; the file has {len}"
        )));
    }
    let header = u32_le(bytes, 14);
    let layout = match header {
        // BITMAPCOREHEADER: 16-bit sizes, never compressed.
        Some(12) => u16_le(bytes, 18)
            .zip(u16_le(bytes, 20))
            .zip(u16_le(bytes, 24))
            .map(|((width, height), bits)| (u64::from(width), u64::from(height), bits, 0)),
        // BITMAPINFOHEADER and its successors; a negative height is top-down.
        Some(40..) => u32_le(bytes, 18)
            .zip(u32_le(bytes, 22))
            .zip(u16_le(bytes, 28).zip(u32_le(bytes, 30)))
            .map(|((width, height), (bits, compression))| {
                (
                    u64::from((width as i32).unsigned_abs()),
                    u64::from((height as i32).unsigned_abs()),
                    bits,
                    compression,
                )
            }),
        _ => None,
    };
    // Uncompressed rows (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS) are padded
    // to 4 bytes; compressed ones have no size known from the header.
    if let Some((width, height, bits, 0 | 3 | 6)) = layout
        && matches!(bits, 1 | 2 | 4 | 8 | 16 | 24 | 32)
    {
        let row = (width * u64::from(bits)).div_ceil(32) * 4;
        let end = offset.saturating_add(row.saturating_mul(height));
        if end > len {
            return Err(truncated(format!(
                "{height} rows of {row} bytes from byte {offset} need {end} bytes; the file has {len}"
            )));
        }
    }
    Ok(())
}
