use super::{truncated, u16_be};

const JPEG_EOI: u8 = 0xD9;
const JPEG_SOS: u8 = 0xDA;

/// A JPEG is complete when its end-of-image marker (FF D9) follows its
/// image data. Segments are walked by their lengths (an EXIF thumbnail's
/// own FF D9 is inside one and does not count); compressed data cannot hold
/// FF D9, as every FF there is followed by 00 or a restart marker. What
/// comes after the marker (MPF pictures, a motion photo's video, padding)
/// is not looked at.
pub(super) fn complete(bytes: &[u8]) -> Result<(), String> {
    let missing_eoi = || truncated("the image data stops before the end-of-image marker (FF D9)");
    let mut at = 2; // after SOI
    let mut scanned = false;
    loop {
        // Decoders skip stray bytes before a marker, and FF fill bytes.
        let Some(ff) = find_ff(bytes, at) else {
            return Err(if scanned {
                missing_eoi()
            } else {
                truncated("it ends before the image data")
            });
        };
        let mut marker_at = ff + 1;
        while bytes.get(marker_at) == Some(&0xFF) {
            marker_at += 1;
        }
        let Some(&marker) = bytes.get(marker_at) else {
            return Err(truncated(format!("it ends inside a marker at byte {ff}")));
        };
        at = marker_at + 1;
        match marker {
            JPEG_EOI if scanned => return Ok(()),
            JPEG_EOI => return Err("the end-of-image marker comes before any image data".into()),
            // A new image starts before this one ended.
            0xD8 => {
                return Err(truncated(format!(
                    "another image starts at byte {ff}, before this one's end-of-image marker"
                )));
            }
            // Markers without a length.
            0x00 | 0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(length) = u16_be(bytes, at) else {
            return Err(truncated(format!(
                "it ends inside the FF {marker:02X} segment at byte {ff}"
            )));
        };
        if length < 2 {
            return Err(format!(
                "the FF {marker:02X} segment at byte {ff} has length {length}"
            ));
        }
        let end = at + usize::from(length);
        if end > bytes.len() {
            return Err(truncated(format!(
                "the FF {marker:02X} segment at byte {ff} needs {} bytes; the file has {}",
                end,
                bytes.len()
            )));
        }
        at = end;
        if marker != JPEG_SOS {
            continue;
        }
        if !scanned {
            scanned = true;
            // Nearly every file ends with its EOI, perhaps padded with
            // zeros: done without reading the compressed data.
            let last = bytes
                .iter()
                .rposition(|&byte| byte != 0)
                .map_or(0, |i| i + 1);
            if last >= at + 2 && bytes[last - 2..last] == [0xFF, JPEG_EOI] {
                return Ok(());
            }
        }
        at = skip_entropy_coded(bytes, at).ok_or_else(missing_eoi)?;
    }
}

/// Where the next FF byte is, eight bytes at a time: compressed data holds
/// about one in 256, so most words are skipped whole.
fn find_ff(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let rest = bytes.get(from..)?;
    let skipped = rest
        .chunks_exact(8)
        .take_while(|chunk| {
            let word = u64::from_le_bytes(<[u8; 8]>::try_from(*chunk).unwrap_or([0xFF; 8]));
            // A zero byte in !word is an FF byte in word.
            (!word).wrapping_sub(ONES) & word & HIGHS == 0
        })
        .count()
        * 8;
    rest[skipped..]
        .iter()
        .position(|&byte| byte == 0xFF)
        .map(|i| from + skipped + i)
}

/// Skips a scan's compressed data; where the next marker starts.
fn skip_entropy_coded(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let ff = find_ff(bytes, at)?;
        match *bytes.get(ff + 1)? {
            // A stuffed FF, or a restart marker: still compressed data.
            0x00 | 0xD0..=0xD7 => at = ff + 2,
            // A fill byte; a marker may start at the next one.
            0xFF => at = ff + 1,
            _ => return Some(ff),
        }
    }
}
