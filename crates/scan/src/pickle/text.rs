//! Argument decoding shared by the walker and the skim: protocol-0 text arguments, longs.

use std::borrow::Cow;

use super::value::Val;

pub(super) fn parse_float(l: &[u8]) -> Option<f64> {
    std::str::from_utf8(l).ok()?.trim().parse::<f64>().ok()
}

/// `INT`'s argument: `00`/`01` (bools) or a decimal integer.
pub(super) fn parse_int_line(l: &[u8]) -> Option<Val<'static>> {
    match l {
        b"00" => Some(Val::Bool(false)),
        b"01" => Some(Val::Bool(true)),
        _ => parse_int(l),
    }
}

/// `LONG`'s argument: a decimal integer with an optional trailing `L`.
pub(super) fn parse_long_line(l: &[u8]) -> Option<Val<'static>> {
    parse_int(l.strip_suffix(b"L").unwrap_or(l))
}

pub(super) fn parse_u64(l: &[u8]) -> Option<u64> {
    std::str::from_utf8(l).ok()?.trim().parse().ok()
}

pub(super) fn parse_int(l: &[u8]) -> Option<Val<'static>> {
    let s = std::str::from_utf8(l).ok()?.trim();
    if let Ok(v) = s.parse::<i64>() {
        return Some(Val::Int(v));
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(Val::BigInt)
}

pub(super) fn decode_long(b: &[u8]) -> Val<'static> {
    if b.is_empty() {
        return Val::Int(0);
    }
    if b.len() > 8 {
        return Val::BigInt;
    }
    let mut v: u64 = 0;
    for (i, x) in b.iter().enumerate() {
        v |= (*x as u64) << (8 * i);
    }
    let bits = 8 * b.len() as u32;
    let v = if bits < 64 && b[b.len() - 1] & 0x80 != 0 {
        (v as i64) - (1i64 << bits)
    } else {
        v as i64
    };
    Val::Int(v)
}

/// Protocol 0 `STRING`: a Python `repr` of a str, single or double quoted, with escapes.
pub(super) fn unquote_string(l: &[u8]) -> Option<Cow<'_, [u8]>> {
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    if l.len() < 2 || l[0] != l[l.len() - 1] || !(l[0] == b'\'' || l[0] == b'"') {
        return None;
    }
    let inner = &l[1..l.len() - 1];
    if !inner.contains(&b'\\') {
        return Some(Cow::Borrowed(inner));
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if c != b'\\' || i + 1 >= inner.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let e = inner[i + 1];
        i += 2;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'0'..=b'7' => {
                let mut v = (e - b'0') as u32;
                let mut k = 0;
                while k < 2 && i < inner.len() && (b'0'..=b'7').contains(&inner[i]) {
                    v = v * 8 + (inner[i] - b'0') as u32;
                    i += 1;
                    k += 1;
                }
                out.push(v as u8);
            }
            b'x' if i + 2 <= inner.len() => {
                let h = std::str::from_utf8(&inner[i..i + 2])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(v) => out.push(v),
                    None => out.extend_from_slice(b"\\x"),
                }
                i += 2;
            }
            b'\\' | b'\'' | b'"' => out.push(e),
            b'\n' => {}
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Some(Cow::Owned(out))
}

/// Protocol 0 `UNICODE`: raw-unicode-escape (only `\uXXXX` and `\UXXXXXXXX` are escapes).
pub(super) fn raw_unicode_escape(l: &[u8]) -> Cow<'_, [u8]> {
    if !l.contains(&b'\\') && l.is_ascii() {
        return Cow::Borrowed(l);
    }
    let mut out = String::with_capacity(l.len());
    let mut i = 0;
    while i < l.len() {
        if l[i] == b'\\' && i + 1 < l.len() && (l[i + 1] == b'u' || l[i + 1] == b'U') {
            let n = if l[i + 1] == b'u' { 4 } else { 8 };
            if i + 2 + n <= l.len() {
                if let Some(c) = std::str::from_utf8(&l[i + 2..i + 2 + n])
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                {
                    out.push(c);
                    i += 2 + n;
                    continue;
                }
            }
        }
        out.push(l[i] as char); // latin-1 byte
        i += 1;
    }
    Cow::Owned(out.into_bytes())
}
