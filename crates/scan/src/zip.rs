//! Zip archives (PyTorch checkpoints, `.npz`), read the way the loaders read them.
//!
//! Both `torch.load` (miniz, in `PyTorchStreamReader`) and Python's `zipfile` (numpy) list
//! members from the central directory, then find each member's data through its local header
//! (`offset + 30 + local name length + local extra length`), using the central directory's
//! compressed size. Neither looks at the member's name to decide whether it is a pickle for our
//! purposes, and we ignore CRCs and flag bits (encryption, data descriptor), which loaders
//! that skip checks would also ignore. Every member is recognised by content. When there is no
//! usable central directory, local headers are swept instead.

use std::io::Read;

use crate::ctx::{Ctx, MAX_INFLATE};
use crate::formats::scan_content;

fn u16le(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as u64)
}
fn u32le(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
}
fn u64le(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 8).map(|b| {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        u64::from_le_bytes(a)
    })
}

struct Entry {
    name: String,
    method: u64,
    csize: u64,
    usize_: u64,
    local: u64,
    cd_off: u64,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}>{name}")
    }
}

/// Reads the central directory. Returns entries and the "concat" shift (bytes prepended to the
/// archive), as Python's zipfile computes it.
fn central_directory(data: &[u8]) -> Result<(Vec<Entry>, u64), (u64, String)> {
    let tail_start = data.len().saturating_sub(22 + 65535);
    let eocd = memchr::memmem::rfind(&data[tail_start..], b"PK\x05\x06")
        .map(|i| i + tail_start)
        .ok_or((0, "no end-of-central-directory record".to_string()))?;
    let bad = |what: &str| {
        (
            eocd as u64,
            format!("end-of-central-directory record: {what}"),
        )
    };
    let mut count = u16le(data, eocd + 10).ok_or_else(|| bad("truncated"))?;
    let mut cd_size = u32le(data, eocd + 12).ok_or_else(|| bad("truncated"))?;
    let mut cd_off = u32le(data, eocd + 16).ok_or_else(|| bad("truncated"))?;
    let mut record_end = eocd as u64;
    // zip64
    if eocd >= 20 && &data[eocd - 20..eocd - 16] == b"PK\x06\x07" {
        if let Some(z64) = u64le(data, eocd - 12) {
            let loc = eocd as u64 - 20;
            let z = usize::try_from(z64)
                .ok()
                .filter(|&z| data.get(z..z + 4) == Some(b"PK\x06\x06"));
            // like zipfile, also accept a zip64 record that sits right before the locator (prepended data)
            let z = z.or_else(|| {
                loc.checked_sub(56)
                    .map(|x| x as usize)
                    .filter(|&x| data.get(x..x + 4) == Some(b"PK\x06\x06"))
            });
            if let Some(z) = z {
                count = u64le(data, z + 32).ok_or_else(|| bad("truncated zip64"))?;
                cd_size = u64le(data, z + 40).ok_or_else(|| bad("truncated zip64"))?;
                cd_off = u64le(data, z + 48).ok_or_else(|| bad("truncated zip64"))?;
                record_end = z as u64;
            }
        }
    }
    let concat = record_end
        .checked_sub(cd_size)
        .and_then(|x| x.checked_sub(cd_off))
        .unwrap_or(0);
    let mut pos = cd_off.saturating_add(concat) as usize;
    let mut out = Vec::new();
    for _ in 0..count.min(1 << 24) {
        if data.get(pos..pos + 4) != Some(b"PK\x01\x02") {
            return Err((
                pos as u64,
                format!(
                    "bad central directory entry signature (read {} of {count} entries)",
                    out.len()
                ),
            ));
        }
        let (
            Some(method),
            Some(mut csize),
            Some(mut usz),
            Some(nlen),
            Some(xlen),
            Some(clen),
            Some(mut local),
        ) = (
            u16le(data, pos + 10),
            u32le(data, pos + 20),
            u32le(data, pos + 24),
            u16le(data, pos + 28),
            u16le(data, pos + 30),
            u16le(data, pos + 32),
            u32le(data, pos + 42),
        )
        else {
            return Err((pos as u64, "truncated central directory entry".into()));
        };
        let name_end = pos + 46 + nlen as usize;
        let name = data
            .get(pos + 46..name_end)
            .map(|n| String::from_utf8_lossy(n).into_owned());
        let Some(name) = name else {
            return Err((
                pos as u64,
                "central directory entry name runs past the end".into(),
            ));
        };
        // zip64 extra field: sizes/offset that overflowed 32 bits, in this order
        let mut x = name_end;
        let xend = (name_end + xlen as usize).min(data.len());
        while x + 4 <= xend {
            let (Some(id), Some(sz)) = (u16le(data, x), u16le(data, x + 2)) else {
                break;
            };
            if id == 1 {
                let mut f = x + 4;
                for field in [&mut usz, &mut csize, &mut local] {
                    if *field == 0xFFFF_FFFF {
                        if let Some(v) = u64le(data, f) {
                            *field = v;
                            f += 8;
                        }
                    }
                }
            }
            x += 4 + sz as usize;
        }
        out.push(Entry {
            name,
            method,
            csize,
            usize_: usz,
            local: local.saturating_add(concat),
            cd_off: pos as u64,
        });
        pos = name_end + xlen as usize + clen as usize;
    }
    Ok((out, concat))
}

/// Local-header sweep, for archives without a usable central directory.
fn sweep_local(data: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&data[from..], b"PK\x03\x04") {
        let at = from + i;
        let (Some(method), Some(csize), Some(usz), Some(nlen)) = (
            u16le(data, at + 8),
            u32le(data, at + 18),
            u32le(data, at + 22),
            u16le(data, at + 26),
        ) else {
            break;
        };
        let name = data
            .get(at + 30..at + 30 + nlen as usize)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        out.push(Entry {
            name,
            method,
            csize,
            usize_: usz,
            local: at as u64,
            cd_off: at as u64,
        });
        from = at + 4;
    }
    out
}

pub(crate) fn scan_zip(ctx: &mut Ctx, data: &[u8], prefix: &str, depth: u32) {
    ctx.format("zip");
    let entries = match central_directory(data) {
        Ok((e, _)) => e,
        Err((off, msg)) => {
            ctx.error(
                prefix,
                off,
                format!("zip: {msg}; sweeping local headers instead"),
            );
            sweep_local(data)
        }
    };
    if entries.iter().any(|e| e.name.ends_with("data.pkl")) {
        ctx.format("pytorch-zip");
    }
    if entries.iter().any(|e| e.name.ends_with(".npy")) {
        ctx.format("npz");
    }
    for e in &entries {
        if e.name.ends_with('/') && e.csize == 0 {
            continue;
        }
        let member = join(prefix, &e.name);
        let lh = e.local as usize;
        if data.get(lh..lh + 4) != Some(b"PK\x03\x04") {
            ctx.error(
                &member,
                e.cd_off,
                format!("zip: no local header at offset {lh}; the loader cannot read this member"),
            );
            continue;
        }
        let (Some(nlen), Some(xlen)) = (u16le(data, lh + 26), u16le(data, lh + 28)) else {
            ctx.error(&member, lh as u64, "zip: truncated local header");
            continue;
        };
        let start = lh + 30 + nlen as usize + xlen as usize;
        let end = (start as u64).saturating_add(e.csize);
        let raw = match data.get(start..(end.min(data.len() as u64)) as usize) {
            Some(r) => r,
            None => {
                ctx.error(
                    &member,
                    lh as u64,
                    "zip: member data starts past the end of the file",
                );
                continue;
            }
        };
        if end > data.len() as u64 {
            ctx.error(
                &member,
                start as u64,
                format!(
                    "zip: member is truncated ({} of {} bytes present)",
                    raw.len(),
                    e.csize
                ),
            );
        }
        let forced_name = e.name.ends_with(".pkl");
        match e.method {
            0 => {
                scan_content(ctx, raw, &member, depth + 1, forced_name);
            }
            8 | 12 | 14 => {
                let (buf, err) = inflate(e, raw);
                if let Some(err) = err {
                    ctx.error(
                        &member,
                        start as u64,
                        format!(
                            "zip: decompressing: {err}; scanning the {} bytes decoded",
                            buf.len()
                        ),
                    );
                }
                scan_content(ctx, &buf, &member, depth + 1, forced_name);
            }
            m => ctx.error(
                &member,
                lh as u64,
                format!("zip: unsupported compression method {m}; member not scanned"),
            ),
        }
    }
}

fn inflate(e: &Entry, raw: &[u8]) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::with_capacity(e.usize_.min(1 << 26) as usize);
    let res = match e.method {
        8 => flate2::read::DeflateDecoder::new(raw)
            .take(MAX_INFLATE)
            .read_to_end(&mut out)
            .map(|_| ()),
        12 => bzip2::read::BzDecoder::new(raw)
            .take(MAX_INFLATE)
            .read_to_end(&mut out)
            .map(|_| ()),
        _ => {
            // zip LZMA: 2-byte version, 2-byte props length, props (5 bytes), raw LZMA data.
            // Feed props + data to the decoder with the size from the central directory.
            let plen = u16le(raw, 2).unwrap_or(0) as usize;
            match raw.get(4..4 + plen) {
                Some(props) if plen == 5 => {
                    let mut alone = Vec::with_capacity(13 + raw.len());
                    alone.extend_from_slice(props);
                    alone.extend_from_slice(&raw[4 + plen..]);
                    let mut input = std::io::BufReader::new(&alone[..]);
                    let mut limited = crate::formats::Limited(Vec::new());
                    let r = lzma_rs::lzma_decompress_with_options(
                        &mut input,
                        &mut limited,
                        &lzma_rs::decompress::Options {
                            unpacked_size: lzma_rs::decompress::UnpackedSize::UseProvided(Some(
                                e.usize_,
                            )),
                            memlimit: None,
                            allow_incomplete: true,
                        },
                    )
                    .map_err(|x| std::io::Error::other(x.to_string()));
                    out = limited.0;
                    r
                }
                _ => Err(std::io::Error::other("bad LZMA properties header")),
            }
        }
    };
    (out, res.err().map(|x| x.to_string()))
}
