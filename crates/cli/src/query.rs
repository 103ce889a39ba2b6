//! `spawnguard query`: one EQL or KQL query over NDJSON events, answered the way
//! Elasticsearch's EQL search API answers it.
//!
//! * Event queries return matching events in ascending timestamp order (then tiebreaker,
//!   then input order). As the API's `result_position` (default `tail`), when more events
//!   match than `--size`, the most recent ones are returned (`--result-position head`: the
//!   earliest), still in ascending order; a `| head N` or `| tail N` pipe decides instead,
//!   and `--size` caps it. Memory stays bounded: only the events the pipes and `--size` can
//!   return are kept, in a bounded heap.
//! * Sequences are returned in the order of their first event, samples in the order of their
//!   join keys (Elasticsearch's composite aggregation order). `--size` caps the number of
//!   events, sequences or samples, like the API's `size` (default 10).
//! * For event queries, lines whose bytes cannot match are not parsed (see
//!   `spawnguard_query::prefilter`), only checked by a validating pass that builds nothing,
//!   so malformed lines are reported and counted all the same.
//!   For sequences and samples, only events matching some stage (or `until`) are kept, then
//!   sorted by timestamp and tiebreaker and fed to the matcher.

mod output;

use anyhow::Context;
use spawnguard_event::reader::{check_record, parse_record, BadRecord, RecordReader};
use spawnguard_event::Event;
use spawnguard_query::prefilter::{Prefilter, Scratch};
use spawnguard_query::query::{timestamp_ns, Pipe};
use spawnguard_query::sequence::{
    KeyValue, SampleConfig, SampleMatcher, SequenceConfig, SequenceMatcher,
};
use spawnguard_query::{compile, CompileOptions, Language, Query, QueryKind};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

#[derive(clap::Args)]
#[command(after_help = "\
Defaults follow Elasticsearch's EQL search API: --timestamp-field @timestamp, \
--event-category-field event.category, no tiebreaker, --size 10, --result-position tail \
(when more than --size match, the most recent are returned, in ascending time order; a \
`| head N` or `| tail N` pipe decides instead, capped by --size).

Input: NDJSON files (plain, gzip or zstd, recognised by content), JSON arrays, Elasticsearch \
search responses or exports (`_source` is unwrapped); `-` reads standard input. Malformed \
lines are reported on stderr as file:line:column and skipped.

Output (--format ndjson): event queries print each matching event's line as read. Sequences \
and samples print one line per event: {\"sequence\": i, \"join_keys\": [...], \"event\": {...}} \
(or \"sample\": i), i counting matches from 0, events in stage order; missing-event stages \
(![...]) print nothing.

Exit status: 0 when the query ran (even with no results), 2 when it was rejected or an input \
could not be opened.")]
pub struct Args {
    /// Query language
    #[arg(long, default_value = "eql", value_parser = parse_language)]
    pub language: Language,
    /// Field holding each event's time (RFC 3339 text or epoch milliseconds)
    #[arg(long, default_value = "@timestamp")]
    pub timestamp_field: String,
    /// Field ordering events with equal timestamps (none by default)
    #[arg(long)]
    pub tiebreaker_field: Option<String>,
    /// Field that `process where …` tests
    #[arg(long, default_value = "event.category")]
    pub event_category_field: String,
    /// Most events (event queries), sequences or samples to return
    #[arg(long, default_value_t = 10)]
    pub size: usize,
    /// Which matches to return when there are more than --size: the most recent (tail) or
    /// the earliest (head); a head/tail pipe takes precedence
    #[arg(long, default_value = "tail", value_parser = ["head", "tail"])]
    pub result_position: String,
    /// Samples per unique join key (sample queries)
    #[arg(long, default_value_t = 1)]
    pub max_samples_per_key: usize,
    /// Output format
    #[arg(long, default_value = "ndjson", value_parser = ["ndjson", "table"])]
    pub format: String,
    /// Benchmark baseline: parse every line, evaluate nothing, print the count
    #[arg(long, hide = true)]
    pub parse_only: bool,
    /// Benchmark switch: parse every line instead of skipping by bytes first
    #[arg(long, hide = true)]
    pub no_prefilter: bool,
    /// The query
    pub query: String,
    /// Input files (`-` for standard input)
    #[arg(required = true)]
    pub files: Vec<String>,
}

fn parse_language(s: &str) -> Result<Language, String> {
    s.parse()
}

/// Most malformed lines reported one by one; the rest are only counted.
const MAX_REPORTED: u64 = 100;

/// Where events come from and what went wrong reading them.
struct Input {
    bad: u64,
    /// Events read so far (global order across files).
    order: u64,
}

impl Input {
    fn report(&mut self, bad: &BadRecord) {
        self.bad += 1;
        if self.bad <= MAX_REPORTED {
            eprintln!("spawnguard: warning: {bad}");
        } else if self.bad == MAX_REPORTED + 1 {
            eprintln!("spawnguard: warning: further malformed lines are counted, not shown");
        }
    }

    /// Reads every record of every file; `f(file, line, bytes)` decides what to do.
    fn each(
        &mut self,
        files: &[String],
        mut f: impl FnMut(&mut Input, &str, u64, &[u8]),
    ) -> anyhow::Result<()> {
        for path in files {
            let mut reader =
                RecordReader::open(path).with_context(|| format!("cannot read {path}"))?;
            let name = reader.name().to_string();
            while let Some(rec) = reader.next_record() {
                match rec {
                    Ok(rec) => {
                        self.order += 1;
                        f(self, &name, rec.line, rec.bytes)
                    }
                    Err(bad) => self.report(&bad),
                }
            }
        }
        Ok(())
    }

    /// A line the prefilter skipped: checked, not built.
    fn check(&mut self, name: &str, line: u64, bytes: &[u8]) {
        if let Err(bad) = check_record(name, line, bytes) {
            self.report(&bad);
        }
    }

    fn parse(&mut self, name: &str, line: u64, bytes: &[u8]) -> Option<Event> {
        match parse_record(name, line, bytes) {
            Ok(ev) => Some(ev),
            Err(bad) => {
                self.report(&bad);
                None
            }
        }
    }
}

/// Sort order of events: timestamp (missing last), tiebreaker (missing last), input order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    ts: (bool, i64),
    tie: (bool, Option<KeyValue>),
    order: u64,
}

/// A kept event.
pub struct Hit {
    pub key: SortKey,
    pub event: Event,
    pub raw: Vec<u8>,
}

impl PartialEq for Hit {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl Eq for Hit {}
impl PartialOrd for Hit {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Hit {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

fn sort_key(q: &Query, ev: &Event, order: u64) -> SortKey {
    let ts = ev.first(&q.timestamp_field).and_then(timestamp_ns);
    let tie = q
        .tiebreaker_field
        .as_ref()
        .and_then(|f| KeyValue::of_field(ev, f));
    SortKey {
        ts: (ts.is_none(), ts.unwrap_or(0)),
        tie: (tie.is_none(), tie),
        order,
    }
}

/// Applies the pipes, then `size`, to results in ascending order. Without pipes, `size`
/// keeps the last results (`result_position` tail) or the first (head); with pipes, `size`
/// caps what the last pipe keeps, from its end.
fn apply_pipes<T>(mut v: Vec<T>, pipes: &[Pipe], size: usize, tail: bool) -> Vec<T> {
    for p in pipes {
        match *p {
            Pipe::Head(n) => v.truncate(n),
            Pipe::Tail(n) => {
                let cut = v.len().saturating_sub(n);
                v.drain(..cut);
            }
        }
    }
    let from_end = match pipes.last() {
        Some(Pipe::Tail(_)) => true,
        Some(Pipe::Head(_)) => false,
        None => tail,
    };
    if from_end {
        let cut = v.len().saturating_sub(size);
        v.drain(..cut);
    } else {
        v.truncate(size);
    }
    v
}

/// Keeps only what the pipes can return: the K earliest, or the K latest when the first pipe
/// is a `tail` (or, without pipes, when the result position is tail).
enum Keep {
    Earliest(usize, BinaryHeap<Hit>),
    Latest(usize, BinaryHeap<Reverse<Hit>>),
}

impl Keep {
    fn new(pipes: &[Pipe], size: usize, tail: bool) -> Keep {
        match pipes.first() {
            Some(Pipe::Tail(n)) => Keep::Latest(*n, BinaryHeap::new()),
            Some(Pipe::Head(n)) => Keep::Earliest(*n, BinaryHeap::new()),
            None if tail => Keep::Latest(size, BinaryHeap::new()),
            None => Keep::Earliest(size, BinaryHeap::new()),
        }
    }

    fn push(&mut self, h: Hit) {
        match self {
            Keep::Earliest(k, heap) => {
                if *k == 0 {
                    return;
                }
                if heap.len() < *k {
                    heap.push(h);
                } else if heap.peek().is_some_and(|top| h < *top) {
                    heap.pop();
                    heap.push(h);
                }
            }
            Keep::Latest(k, heap) => {
                if *k == 0 {
                    return;
                }
                if heap.len() < *k {
                    heap.push(Reverse(h));
                } else if heap.peek().is_some_and(|top| h > top.0) {
                    heap.pop();
                    heap.push(Reverse(h));
                }
            }
        }
    }

    fn into_sorted(self) -> Vec<Hit> {
        let mut v: Vec<Hit> = match self {
            Keep::Earliest(_, heap) => heap.into_vec(),
            Keep::Latest(_, heap) => heap.into_iter().map(|r| r.0).collect(),
        };
        v.sort();
        v
    }
}

/// A match of a sequence or sample query: its key and events.
pub struct Group {
    pub key: Vec<KeyValue>,
    pub hits: Vec<usize>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut input = Input { bad: 0, order: 0 };
    if args.parse_only {
        let mut n = 0u64;
        input.each(&args.files, |inp, name, line, bytes| {
            if inp.parse(name, line, bytes).is_some() {
                n += 1;
            }
        })?;
        println!("{n}");
        finish(&input);
        return Ok(0);
    }
    let opts = CompileOptions {
        event_category_field: args.event_category_field.clone(),
        timestamp_field: args.timestamp_field.clone(),
        tiebreaker_field: args.tiebreaker_field.clone(),
    };
    let lang = match args.language {
        Language::Eql => "EQL",
        Language::Kql => "KQL",
    };
    let q = match compile(args.language, &args.query, &opts) {
        Ok(q) => q,
        Err(e) => anyhow::bail!("invalid {lang} query: {e}"),
    };
    let prefilter = if args.no_prefilter {
        Prefilter::new(&[spawnguard_query::prefilter::Req::Always])
    } else {
        Prefilter::new(&[q.requirement()])
    };
    let mut scratch = Scratch::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let table = args.format == "table";
    let tail = args.result_position == "tail";

    match &q.kind {
        QueryKind::Event(pred) => {
            let mut keep = Keep::new(&q.pipes, args.size, tail);
            input.each(&args.files, |inp, name, line, bytes| {
                if !prefilter.may_match(bytes, &mut scratch) {
                    return inp.check(name, line, bytes);
                }
                let Some(ev) = inp.parse(name, line, bytes) else {
                    return;
                };
                if pred.matches(&ev) {
                    let key = sort_key(&q, &ev, inp.order);
                    keep.push(Hit {
                        key,
                        event: ev,
                        raw: bytes.to_vec(),
                    });
                }
            })?;
            let hits = apply_pipes(keep.into_sorted(), &q.pipes, args.size, tail);
            if table {
                output::event_table(&mut out, &hits)?;
            } else {
                for h in &hits {
                    out.write_all(&h.raw)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        QueryKind::Sequence(seq) => {
            let preds: Vec<_> = seq
                .stages
                .iter()
                .chain(seq.until.iter())
                .map(|s| &s.pred)
                .collect();
            let mut hits = collect(&args, &q, &prefilter, &mut scratch, &mut input, |ev| {
                preds.iter().any(|p| p.matches(ev))
            })?;
            let mut no_ts = 0u64;
            hits.retain(|h| {
                let ok = !h.key.ts.0;
                no_ts += !ok as u64;
                ok
            });
            if no_ts > 0 {
                eprintln!(
                    "spawnguard: warning: {no_ts} event(s) without a usable `{}` left out of sequences",
                    args.timestamp_field
                );
            }
            let mut m = SequenceMatcher::with_config(seq, SequenceConfig::default());
            let mut groups = Vec::new();
            for (i, h) in hits.iter().enumerate() {
                for s in m.push(&h.event, h.key.ts.1, i) {
                    groups.push(Group {
                        key: s.key,
                        hits: s.items,
                    });
                }
            }
            for s in m.flush() {
                groups.push(Group {
                    key: s.key,
                    hits: s.items,
                });
            }
            // Elasticsearch orders sequences by their first event.
            groups.sort_by_key(|g| g.hits.first().copied());
            let stats = m.stats();
            if stats.evicted_cap > 0 {
                eprintln!(
                    "spawnguard: warning: {} pending sequence(s) evicted by the state cap",
                    stats.evicted_cap
                );
            }
            let groups = apply_pipes(groups, &q.pipes, args.size, tail);
            output::groups(&mut out, "sequence", &groups, &hits, table)?;
        }
        QueryKind::Sample(sample) => {
            let preds: Vec<_> = sample.stages.iter().map(|s| &s.pred).collect();
            let hits = collect(&args, &q, &prefilter, &mut scratch, &mut input, |ev| {
                preds.iter().any(|p| p.matches(ev))
            })?;
            let cfg = SampleConfig {
                max_samples_per_key: args.max_samples_per_key,
                ..SampleConfig::default()
            };
            let mut m = SampleMatcher::with_config(sample, cfg);
            let mut groups = Vec::new();
            for (i, h) in hits.iter().enumerate() {
                for s in m.push(&h.event, i) {
                    groups.push(Group {
                        key: s.key,
                        hits: s.items,
                    });
                }
            }
            // Elasticsearch returns samples in join-key order.
            groups.sort_by(|a, b| a.key.cmp(&b.key));
            let groups = apply_pipes(groups, &q.pipes, args.size, tail);
            output::groups(&mut out, "sample", &groups, &hits, table)?;
        }
    }
    out.flush()?;
    finish(&input);
    Ok(0)
}

/// Reads every event that `relevant` keeps (after the byte prefilter), sorted.
fn collect(
    args: &Args,
    q: &Query,
    prefilter: &Prefilter,
    scratch: &mut Scratch,
    input: &mut Input,
    relevant: impl Fn(&Event) -> bool,
) -> anyhow::Result<Vec<Hit>> {
    let mut hits = Vec::new();
    input.each(&args.files, |inp, name, line, bytes| {
        if !prefilter.may_match(bytes, scratch) {
            return inp.check(name, line, bytes);
        }
        let Some(ev) = inp.parse(name, line, bytes) else {
            return;
        };
        if relevant(&ev) {
            hits.push(Hit {
                key: sort_key(q, &ev, inp.order),
                event: ev,
                raw: Vec::new(),
            });
        }
    })?;
    hits.sort();
    Ok(hits)
}

fn finish(input: &Input) {
    if input.bad > 0 {
        eprintln!(
            "spawnguard: warning: {} malformed line(s) skipped",
            input.bad
        );
    }
}
