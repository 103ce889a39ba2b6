//! Content detection and dispatch: every buffer is recognised by its bytes, never by its name.

use std::io::Read;

use crate::ctx::{Ctx, MAX_DEPTH, MAX_INFLATE};
use crate::pickle::{skim, Skim, Walker};

/// `torch.save` legacy format starts with this pickled magic number (LONG1 0x1950a86a20f9469cfc6c).
const TORCH_LEGACY_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";

/// True when `b` is a byte a pickle opcode can start with.
fn is_opcode(b: u8) -> bool {
    matches!(b, 0x80..=0x98) || b"(.012FIJKLMNPQRSTUVXabcdeghijlopqrstuBCG}])".contains(&b)
}

/// Scans `data`, whatever it is. `member` names where it came from; `forced` says the loader
/// definitely unpickles it (a `.pkl` member, a loader argument), so a failed walk is an error
/// rather than "not a pickle". Returns true when something was recognised.
pub(crate) fn scan_content(
    ctx: &mut Ctx,
    data: &[u8],
    member: &str,
    depth: u32,
    forced: bool,
) -> bool {
    if depth > MAX_DEPTH {
        ctx.error(member, 0, "nesting too deep; not scanned");
        return false;
    }
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        crate::zip::scan_zip(ctx, data, member, depth);
        return true;
    }
    if data.starts_with(b"\x93NUMPY") {
        scan_npy(ctx, data, member, depth);
        return true;
    }
    if data.starts_with(b"7z\xbc\xaf\x27\x1c") {
        crate::archive::scan_7z(ctx, data, member, depth);
        return true;
    }
    if data.len() >= 512 && &data[257..262] == b"ustar" {
        crate::archive::scan_tar(ctx, data, member, depth);
        return true;
    }
    if let Some((fmt, out, err)) = decompress(data) {
        ctx.format(fmt);
        if let Some(e) = err {
            ctx.error(
                member,
                0,
                format!(
                    "{fmt}: {e}; scanning the {} bytes decoded before it",
                    out.len()
                ),
            );
        }
        let inner = if member.is_empty() {
            format!("<{fmt}>")
        } else {
            format!("{member}><{fmt}>")
        };
        scan_content(ctx, &out, &inner, depth + 1, false);
        return true;
    }
    // A file that starts with a PROTO opcode (as pickles of protocol 2+ do) is taken as a pickle.
    // Not applied inside archives, where tensor bytes may start with 0x80 by chance.
    let proto_header =
        depth == 0 && data.len() >= 2 && data[0] == 0x80 && (2..=5).contains(&data[1]);
    walk_pickles(ctx, data, 0, member, depth, forced || proto_header)
}

/// Decompresses a recognised compressed stream (gzip, zlib, bz2, xz, lzma-alone, joblib's old
/// `ZF` zlib framing). Returns the format, what was decoded, and the error that stopped it.
fn decompress(data: &[u8]) -> Option<(&'static str, Vec<u8>, Option<String>)> {
    fn read_all(mut r: impl Read) -> (Vec<u8>, Option<String>) {
        let mut out = Vec::new();
        let res = (&mut r).take(MAX_INFLATE + 1).read_to_end(&mut out);
        let err = match res {
            Err(e) => Some(e.to_string()),
            Ok(_) if out.len() as u64 > MAX_INFLATE => {
                out.truncate(MAX_INFLATE as usize);
                Some(format!(
                    "decoded size exceeds {MAX_INFLATE} bytes; only the start is scanned"
                ))
            }
            Ok(_) => None,
        };
        (out, err)
    }
    if data.starts_with(b"\x1f\x8b") {
        let (o, e) = read_all(flate2::read::MultiGzDecoder::new(data));
        return Some(("gzip", o, e));
    }
    if data.starts_with(b"BZh") && data.len() > 4 && (b'1'..=b'9').contains(&data[3]) {
        let (o, e) = read_all(bzip2::read::MultiBzDecoder::new(data));
        return Some(("bz2", o, e));
    }
    if data.starts_with(b"\xfd7zXZ\x00") {
        let (o, e) = lzma_rs_decode(data, true);
        return Some(("xz", o, e));
    }
    if data.len() >= 13 && data[0] == 0x5d && data[1] == 0 && data[2] == 0 {
        let (o, e) = lzma_rs_decode(data, false);
        if e.is_none() || !o.is_empty() {
            return Some(("lzma", o, e));
        }
    }
    if data.len() >= 2
        && data[0] == 0x78
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0
    {
        let (o, e) = read_all(flate2::read::ZlibDecoder::new(data));
        if e.is_none() || !o.is_empty() {
            return Some(("zlib", o, e));
        }
    }
    if data.starts_with(b"ZF0x") {
        // joblib < 0.10: b"ZF" + hex length padded with spaces, then a zlib stream
        if let Some(i) = data
            .iter()
            .take(40)
            .position(|&b| b == 0x78)
            .filter(|&i| i > 4)
        {
            let (o, e) = read_all(flate2::read::ZlibDecoder::new(&data[i..]));
            return Some(("joblib-zfile", o, e));
        }
    }
    None
}

/// A `Write` sink that refuses to grow past [`MAX_INFLATE`] (decompression bombs).
pub(crate) struct Limited(pub Vec<u8>);

impl std::io::Write for Limited {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.0.len() as u64 + b.len() as u64 > MAX_INFLATE {
            return Err(std::io::Error::other("decoded size limit reached"));
        }
        self.0.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lzma_rs_decode(data: &[u8], xz: bool) -> (Vec<u8>, Option<String>) {
    let mut out = Limited(Vec::new());
    let mut input = std::io::BufReader::new(data);
    let res = if xz {
        lzma_rs::xz_decompress(&mut input, &mut out)
    } else {
        lzma_rs::lzma_decompress(&mut input, &mut out)
    };
    (out.0, res.err().map(|e| e.to_string()))
}

/// Walks the pickle streams in `data` from `start`: one, or several concatenated (legacy
/// `torch.save` files and `pickle.load` loops read several). Returns true if any was found.
pub(crate) fn walk_pickles(
    ctx: &mut Ctx,
    data: &[u8],
    start: usize,
    member: &str,
    depth: u32,
    forced: bool,
) -> bool {
    let mut pos = start;
    let mut first = true;
    let mut any = false;
    if ctx.exhausted {
        // the work budget ran out earlier in this file: already reported, nothing more is read
        return false;
    }
    if data[start.min(data.len())..].starts_with(TORCH_LEGACY_MAGIC) {
        ctx.format("torch-legacy");
    }
    while pos < data.len() {
        if !is_opcode(data[pos]) {
            if first && forced {
                ctx.error(
                    member,
                    pos as u64,
                    format!(
                        "not a pickle: first byte 0x{:02x} is not an opcode",
                        data[pos]
                    ),
                );
            }
            break;
        }
        let fast = if ctx.full_walk_only {
            Skim::NeedsWalk
        } else {
            skim(data, pos)
        };
        if let Skim::Safe { end, globals, lits } = fast {
            if globals > 0 || end - pos >= 2 || (first && forced) {
                for l in lits {
                    ctx.literal(l);
                }
                ctx.report.pickles += 1;
                ctx.format("pickle");
                any = true;
                pos = end;
                first = false;
                continue;
            }
        }
        let mut w = Walker::new(data, ctx, member, depth);
        let out = w.run(pos);
        // a walk cut short by the budget always counts: its finding and error must stay
        let meaningful = out.globals > 0
            || (out.stopped && out.end - pos >= 2)
            || (first && forced)
            || out.budget;
        if !meaningful {
            w.rollback();
            break;
        }
        w.commit();
        ctx.report.pickles += 1;
        ctx.format("pickle");
        any = true;
        if let Some(b) = out.error {
            ctx.error(member, b.offset as u64, b.message);
            break;
        }
        pos = out.end;
        first = false;
    }
    any
}

/// numpy `.npy`: a header, then raw data, or a pickle when the dtype holds objects.
fn scan_npy(ctx: &mut Ctx, data: &[u8], member: &str, depth: u32) {
    ctx.format("npy");
    let (hlen, hstart): (usize, usize) = match data.get(6) {
        Some(1) if data.len() >= 10 => (u16::from_le_bytes([data[8], data[9]]) as usize, 10),
        Some(2 | 3) if data.len() >= 12 => (
            u32::from_le_bytes([data[8], data[9], data[10], data[11]]) as usize,
            12,
        ),
        _ => {
            ctx.error(member, 6, "npy: unsupported version or truncated header");
            return;
        }
    };
    let Some(header) = data.get(hstart..hstart.saturating_add(hlen)) else {
        ctx.error(
            member,
            hstart as u64,
            "npy: header runs past the end of the data",
        );
        return;
    };
    if npy_has_object(header) {
        ctx.format("npy-object");
        walk_pickles(ctx, data, hstart + hlen, member, depth, true);
    }
}

/// True when an npy header's `descr` names an object dtype anywhere (plain or in a record).
pub(crate) fn npy_has_object(header: &[u8]) -> bool {
    let Some(d) = memchr::memmem::find(header, b"descr") else {
        return true;
    };
    let after = &header[d + 5..];
    let rest = match after.iter().position(|&c| c == b':') {
        Some(c) => &after[c + 1..],
        None => return true,
    };
    // descr ends at the next top-level key; a simple, conservative cut is the 'fortran_order' or 'shape' key
    let end = ["fortran_order", "shape"]
        .iter()
        .filter_map(|k| memchr::memmem::find(rest, k.as_bytes()))
        .min()
        .unwrap_or(rest.len());
    let descr = &rest[..end];
    let mut i = 0;
    while i < descr.len() {
        let q = descr[i];
        if q == b'\'' || q == b'"' {
            let Some(len) = descr[i + 1..].iter().position(|&c| c == q) else {
                break;
            };
            let tok = &descr[i + 1..i + 1 + len];
            let t = tok
                .strip_prefix(b"|")
                .or_else(|| tok.strip_prefix(b"<"))
                .or_else(|| tok.strip_prefix(b">"))
                .or_else(|| tok.strip_prefix(b"="))
                .unwrap_or(tok);
            if t.first() == Some(&b'O') && t[1..].iter().all(u8::is_ascii_digit) {
                return true;
            }
            i += len + 2;
        } else {
            i += 1;
        }
    }
    false
}
