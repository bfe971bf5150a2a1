use super::truncated;

/// A GIF is complete when its blocks, each sub-block jumped over by its
/// length, lead to the trailer (3B). Bytes after the trailer, or that are
/// not a block after at least one whole image, are ignored, as decoders do.
pub(super) fn complete(bytes: &[u8]) -> Result<(), String> {
    let len = bytes.len();
    let Some(&screen_flags) = bytes.get(10) else {
        return Err(truncated("it ends inside the logical screen descriptor"));
    };
    let mut at = 13 + palette_bytes(screen_flags);
    if at > len {
        return Err(truncated("it ends inside the global colour table"));
    }
    let mut images = 0;
    loop {
        match bytes.get(at) {
            None => {
                return Err(truncated(format!(
                    "it ends without the GIF trailer (3B) after {images} image(s)"
                )));
            }
            Some(0x3B) => return Ok(()),
            Some(0x21) => at = skip_sub_blocks(bytes, at + 2)?,
            Some(0x2C) => {
                let Some(&flags) = bytes.get(at + 9) else {
                    return Err(truncated(format!(
                        "it ends inside the image descriptor at byte {at}"
                    )));
                };
                // Descriptor, local colour table, LZW code size, data.
                at = skip_sub_blocks(bytes, at + 10 + palette_bytes(flags) + 1)?;
                images += 1;
            }
            Some(_) if images > 0 => return Ok(()),
            Some(other) => {
                return Err(format!(
                    "an unknown block ({other:02X}) at byte {at}, before any image"
                ));
            }
        }
    }
}

fn palette_bytes(flags: u8) -> usize {
    if flags & 0x80 == 0 {
        0
    } else {
        3 << ((flags & 7) + 1)
    }
}

/// Jumps over GIF data sub-blocks up to their terminator (a zero size).
fn skip_sub_blocks(bytes: &[u8], mut at: usize) -> Result<usize, String> {
    loop {
        let Some(&size) = bytes.get(at) else {
            return Err(truncated(format!(
                "it ends inside a block, at byte {at} of {}",
                bytes.len()
            )));
        };
        at += 1 + usize::from(size);
        if size == 0 {
            return Ok(at);
        }
        if at > bytes.len() {
            return Err(truncated(format!(
                "a {size}-byte data block runs past the end ({} bytes)",
                bytes.len()
            )));
        }
    }
}
