//! Tar archives (read like Python's `tarfile`) and 7z archives.

use std::io::Read;

use crate::ctx::{Ctx, MAX_INFLATE};
use crate::formats::scan_content;

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}>{name}")
    }
}

fn cstr(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// Tar number field: octal text, or GNU base-256 when the high bit is set.
fn tar_num(b: &[u8]) -> Option<u64> {
    if b.first().is_some_and(|c| c & 0x80 != 0) {
        let mut v: u64 = (b[0] & 0x7f) as u64;
        for &c in &b[1..] {
            v = v.checked_mul(256)?.checked_add(c as u64)?;
        }
        return Some(v);
    }
    let s = std::str::from_utf8(cstr(b))
        .ok()?
        .trim_matches(|c: char| c == ' ' || c == '\0');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// Scans every regular file of a tar archive (ustar, GNU long names, pax `path`/`size`).
pub(crate) fn scan_tar(ctx: &mut Ctx, data: &[u8], prefix: &str, depth: u32) {
    ctx.format("tar");
    let mut pos = 0usize;
    let mut long_name: Option<String> = None;
    let mut pax_size: Option<u64> = None;
    while pos + 512 <= data.len() {
        let h = &data[pos..pos + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    b as u64
                }
            })
            .sum();
        if tar_num(&h[148..156]) != Some(sum) {
            ctx.error(
                prefix,
                pos as u64,
                "tar: header checksum mismatch; stopping here as tarfile does",
            );
            break;
        }
        let Some(hsize) = tar_num(&h[124..136]) else {
            ctx.error(prefix, pos as u64 + 124, "tar: bad size field");
            break;
        };
        let size = pax_size.take().unwrap_or(hsize);
        let typ = h[156];
        let mut name = String::from_utf8_lossy(cstr(&h[0..100])).into_owned();
        if &h[257..262] == b"ustar" {
            let pre = cstr(&h[345..500]);
            if !pre.is_empty() {
                name = format!("{}/{name}", String::from_utf8_lossy(pre));
            }
        }
        if let Some(l) = long_name.take() {
            name = l;
        }
        let start = pos + 512;
        let end = (start as u64).saturating_add(size);
        let body = &data[start.min(data.len())..(end.min(data.len() as u64) as usize)];
        if end > data.len() as u64 {
            ctx.error(
                &join(prefix, &name),
                start as u64,
                format!("tar: member truncated ({} of {size} bytes)", body.len()),
            );
        }
        match typ {
            b'L' => long_name = Some(String::from_utf8_lossy(cstr(body)).into_owned()),
            b'x' => {
                for rec in String::from_utf8_lossy(body).lines() {
                    if let Some((_, kv)) = rec.split_once(' ') {
                        if let Some(p) = kv.strip_prefix("path=") {
                            long_name = Some(p.to_string());
                        } else if let Some(s) = kv.strip_prefix("size=") {
                            pax_size = s.trim().parse().ok();
                        }
                    }
                }
            }
            b'0' | 0 | b'7' => {
                scan_content(
                    ctx,
                    body,
                    &join(prefix, &name),
                    depth + 1,
                    name.ends_with(".pkl") || name == "pickle",
                );
            }
            _ => {}
        }
        let padded = size.div_ceil(512).saturating_mul(512);
        match usize::try_from((start as u64).saturating_add(padded)) {
            Ok(next) => pos = next,
            Err(_) => break,
        }
    }
}

/// Scans every file of a 7z archive (decoded in memory, bounded).
pub(crate) fn scan_7z(ctx: &mut Ctx, data: &[u8], prefix: &str, depth: u32) {
    ctx.format("7z");
    let cursor = std::io::Cursor::new(data);
    let mut reader = match sevenz_rust2::SevenZReader::new(cursor, sevenz_rust2::Password::empty())
    {
        Ok(r) => r,
        Err(e) => {
            ctx.error(prefix, 0, format!("7z: cannot read the archive: {e}"));
            return;
        }
    };
    let res = reader.for_each_entries(|entry, r| {
        if entry.is_directory() {
            return Ok(true);
        }
        let member = join(prefix, entry.name());
        let mut buf = Vec::new();
        if let Err(e) = r.take(MAX_INFLATE).read_to_end(&mut buf) {
            ctx.error(
                &member,
                0,
                format!(
                    "7z: decoding: {e}; scanning the {} bytes decoded",
                    buf.len()
                ),
            );
        }
        scan_content(ctx, &buf, &member, depth + 1, false);
        Ok(true)
    });
    if let Err(e) = res {
        ctx.error(prefix, 0, format!("7z: {e}"));
    }
}
