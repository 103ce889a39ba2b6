//! Reading recorded telemetry: NDJSON (plain, gzip or zstd, recognised by content), a JSON
//! array of documents, an Elasticsearch search response, or Elasticsearch export hits whose
//! documents sit under `_source`. `-` reads standard input.
//!
//! Records come out as raw bytes with their line number, so that callers can decide from the
//! bytes alone whether a record can matter before paying for a parse.

use crate::Event;
use serde_json::Value;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// A document that could not be read, with where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRecord {
    pub file: String,
    pub line: u64,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Opens a file (or `-` for stdin), undoing gzip or zstd compression when the content says so.
pub fn open(path: &str) -> io::Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(
            File::open(Path::new(path))
                .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?,
        )
    };
    let mut buf = BufReader::with_capacity(1 << 20, raw);
    let magic = buf.fill_buf()?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(buf),
        )))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            zstd::stream::read::Decoder::with_buffer(buf)?,
        )))
    } else {
        Ok(Box::new(buf))
    }
}

/// One record: a document's raw bytes and the line it starts on (1-based).
pub struct Record<'a> {
    pub line: u64,
    pub bytes: &'a [u8],
}

/// Reads records from one input. NDJSON inputs are streamed line by line; a JSON array or a
/// search response is read whole and its documents handed out one by one.
pub struct RecordReader {
    name: String,
    input: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: u64,
    /// Documents of a whole-file JSON input, already split out.
    whole: Option<std::vec::IntoIter<(u64, Vec<u8>)>>,
    started: bool,
}

impl RecordReader {
    pub fn open(path: &str) -> io::Result<Self> {
        Ok(Self::new(
            if path == "-" { "<stdin>" } else { path },
            open(path)?,
        ))
    }

    pub fn new(name: &str, input: Box<dyn BufRead + Send>) -> Self {
        RecordReader {
            name: name.to_string(),
            input,
            buf: Vec::with_capacity(4096),
            line: 0,
            whole: None,
            started: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next record, or `None` at the end. Errors are I/O errors or a whole-file JSON
    /// document that does not parse (reported as a [`BadRecord`] in the `Err` text).
    pub fn next_record(&mut self) -> Option<Result<Record<'_>, BadRecord>> {
        if !self.started {
            self.started = true;
            if let Err(bad) = self.sniff_whole_document() {
                return Some(Err(bad));
            }
        }
        if let Some(docs) = &mut self.whole {
            let (line, bytes) = docs.next()?;
            self.buf = bytes;
            return Some(Ok(Record {
                line,
                bytes: &self.buf,
            }));
        }
        loop {
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {
                    self.line += 1;
                    let trimmed = trim(&self.buf);
                    if trimmed.is_empty() {
                        continue;
                    }
                    let (s, e) = span(&self.buf);
                    return Some(Ok(Record {
                        line: self.line,
                        bytes: &self.buf[s..e],
                    }));
                }
                Err(e) => {
                    return Some(Err(BadRecord {
                        file: self.name.clone(),
                        line: self.line + 1,
                        column: 0,
                        message: format!("read error: {e}"),
                    }))
                }
            }
        }
    }

    /// If the input starts with `[` (a JSON array) or is one pretty-printed object spanning
    /// lines (a search response), read it whole and split it into documents.
    fn sniff_whole_document(&mut self) -> Result<(), BadRecord> {
        let head = match self.input.fill_buf() {
            Ok(h) => h,
            Err(_) => return Ok(()),
        };
        let first = head
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|i| head[i]);
        let first_line_end = memchr::memchr(b'\n', head);
        let is_array = first == Some(b'[');
        // A multi-line object: the first line alone is not a complete document.
        let is_pretty_object = first == Some(b'{')
            && first_line_end
                .map(|e| serde_json::from_slice::<serde::de::IgnoredAny>(&head[..e]).is_err())
                .unwrap_or(false);
        if !is_array && !is_pretty_object {
            return Ok(());
        }
        let mut all = Vec::new();
        if let Err(e) = self.input.read_to_end(&mut all) {
            return Err(self.bad(1, 0, format!("read error: {e}")));
        }
        let value: Value = match serde_json::from_slice(&all) {
            Ok(v) => v,
            Err(e) if is_pretty_object => {
                // Not one document after all: fall back to NDJSON over what was read.
                let _ = e;
                self.input = Box::new(io::Cursor::new(all));
                return Ok(());
            }
            Err(e) => {
                return Err(self.bad(
                    e.line() as u64,
                    e.column(),
                    format!("invalid JSON array: {e}"),
                ))
            }
        };
        let docs = match value {
            Value::Array(items) => items,
            Value::Object(mut obj) => match obj
                .get_mut("hits")
                .and_then(|h| h.get_mut("hits"))
                .map(Value::take)
            {
                Some(Value::Array(hits)) => hits,
                _ => vec![Value::Object(obj)],
            },
            other => vec![other],
        };
        let docs: Vec<(u64, Vec<u8>)> = docs
            .into_iter()
            .enumerate()
            .map(|(i, d)| (i as u64 + 1, serde_json::to_vec(&d).unwrap_or_default()))
            .collect();
        self.whole = Some(docs.into_iter());
        Ok(())
    }

    fn bad(&self, line: u64, column: usize, message: String) -> BadRecord {
        BadRecord {
            file: self.name.clone(),
            line,
            column,
            message,
        }
    }

    /// Parses a record into an event, unwrapping Elasticsearch hits (`_source`).
    pub fn parse(&self, rec: &Record<'_>) -> Result<Event, BadRecord> {
        parse_record(&self.name, rec.line, rec.bytes)
    }
}

/// Checks one record without building it: `Ok` exactly when [`parse_record`] would accept
/// it, else its error. A cheap validating pass decides plain records; anything else goes
/// through [`parse_record`] itself.
pub fn check_record(file: &str, line: u64, bytes: &[u8]) -> Result<(), BadRecord> {
    if crate::project::is_plain_object(bytes) {
        return Ok(());
    }
    parse_record(file, line, bytes).map(|_| ())
}

/// Parses one record's bytes into an event. Elasticsearch hits (objects with `_source` and
/// `_index` or `_id`) are unwrapped. Anything but a JSON object is a bad record.
pub fn parse_record(file: &str, line: u64, bytes: &[u8]) -> Result<Event, BadRecord> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| BadRecord {
        file: file.to_string(),
        line: line + e.line().saturating_sub(1) as u64,
        column: e.column(),
        message: e.to_string(),
    })?;
    let value = unwrap_hit(value);
    if !value.is_object() {
        return Err(BadRecord {
            file: file.to_string(),
            line,
            column: 1,
            message: format!("expected a JSON object, found {}", kind(&value)),
        });
    }
    Ok(Event::new(value))
}

fn unwrap_hit(value: Value) -> Value {
    match value {
        Value::Object(mut obj)
            if obj.get("_source").map(Value::is_object).unwrap_or(false)
                && (obj.contains_key("_index") || obj.contains_key("_id")) =>
        {
            obj.remove("_source").unwrap_or(Value::Null)
        }
        other => other,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn span(b: &[u8]) -> (usize, usize) {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map(|i| i + 1)
        .unwrap_or(s);
    (s, e.max(s))
}

fn trim(b: &[u8]) -> &[u8] {
    let (s, e) = span(b);
    &b[s..e]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn records(
        name: &str,
        data: Vec<u8>,
    ) -> (Vec<(u64, Result<Event, BadRecord>)>, Vec<BadRecord>) {
        let mut r = RecordReader::new(name, Box::new(io::Cursor::new(data)));
        let mut out = Vec::new();
        let mut errs = Vec::new();
        while let Some(rec) = r.next_record() {
            match rec {
                Ok(rec) => {
                    let line = rec.line;
                    let parsed = parse_record(name, line, rec.bytes);
                    out.push((line, parsed));
                }
                Err(e) => errs.push(e),
            }
        }
        (out, errs)
    }

    #[test]
    fn ndjson_with_blank_and_bad_lines() {
        let (recs, errs) = records("t.ndjson", b"{\"a\":1}\n\n{bad\n[1]\n{\"a\":2}\n".to_vec());
        assert!(errs.is_empty());
        assert_eq!(recs.len(), 4);
        assert!(recs[0].1.is_ok());
        let bad = recs[1].1.as_ref().unwrap_err();
        assert_eq!((bad.line, bad.file.as_str()), (3, "t.ndjson"));
        assert!(bad.column > 0);
        assert!(recs[2]
            .1
            .as_ref()
            .unwrap_err()
            .message
            .contains("expected a JSON object"));
        assert_eq!(recs[3].0, 5);
    }

    #[test]
    fn json_array_and_search_response() {
        let (recs, _) = records("a.json", b"[\n {\"a\":1},\n {\"a\":2}\n]\n".to_vec());
        assert_eq!(recs.len(), 2);
        let resp = br#"{
  "took": 1,
  "hits": {"total": {"value": 1}, "hits": [{"_index": "x", "_id": "1", "_source": {"process": {"name": "sh"}}}]}
}"#;
        let (recs, _) = records("r.json", resp.to_vec());
        assert_eq!(recs.len(), 1);
        assert_eq!(
            recs[0].1.as_ref().unwrap().get_str("process.name"),
            Some("sh")
        );
    }

    #[test]
    fn export_hits_per_line_are_unwrapped() {
        let (recs, _) = records(
            "e.ndjson",
            b"{\"_index\":\"i\",\"_id\":\"1\",\"_source\":{\"a\":\"b\"}}\n".to_vec(),
        );
        assert_eq!(recs[0].1.as_ref().unwrap().get_str("a"), Some("b"));
    }

    #[test]
    fn gzip_and_zstd_are_recognised_by_content() {
        let dir = std::env::temp_dir().join(format!("sg-reader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = b"{\"a\":\"x\"}\n{\"a\":\"y\"}\n";
        let gz = dir.join("in.bin");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let zs = dir.join("in2.bin");
        std::fs::write(&zs, zstd::encode_all(&data[..], 1).unwrap()).unwrap();
        for p in [gz, zs] {
            let mut r = RecordReader::open(p.to_str().unwrap()).unwrap();
            let mut n = 0;
            while let Some(rec) = r.next_record() {
                rec.unwrap();
                n += 1;
            }
            assert_eq!(n, 2);
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
