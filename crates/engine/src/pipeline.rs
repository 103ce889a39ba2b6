//! Running inputs through the engine, on one thread or several.
//!
//! With `threads == 1` everything happens inline: read a record, screen it (prefilter,
//! parse, route, evaluate), hand it to the engine. With `threads = N > 1`: one reader thread
//! cuts the input into batches of records (about 1 MiB), N worker threads screen batches
//! (the expensive, stateless part: prefilter scan, JSON parse, conditions) and the calling
//! thread takes their results back *in input order* (batches carry sequence numbers and are
//! reordered) and runs the stateful part (history, sequences, thresholds, suppression,
//! alert building). Alerts therefore come out in exactly the order of the 1-thread run.

use crate::alert::Alert;
use crate::engine::Engine;
use crate::lazy::LazyEvent;
use crate::screen::{Prepared, Screen, ScreenScratch};
use spawnguard_event::reader::{BadRecord, RecordReader};
use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

/// What a run reports as it goes.
pub enum Output {
    Alert(Box<Alert>),
    Bad(BadRecord),
}

const BATCH_BYTES: usize = 1 << 20;
const BATCH_RECORDS: usize = 8192;

enum Item {
    Rec { line: u64, start: usize, end: usize },
    Err(BadRecord),
}

struct Batch {
    seq: u64,
    data: Vec<u8>,
    items: Vec<Item>,
}

/// Whether a reader error ends the input (I/O errors do; a bad whole-file JSON does too,
/// as nothing more can be read from it).
fn is_fatal(_b: &BadRecord) -> bool {
    true
}

/// Runs one input through the engine; `out` gets alerts and bad records in input order,
/// `progress` the number of record bytes handled since its last call.
pub fn run_input(
    engine: &mut Engine,
    reader: RecordReader,
    threads: usize,
    out: &mut dyn FnMut(Output),
    progress: &mut dyn FnMut(u64),
) {
    if threads <= 1 {
        run_inline(engine, reader, out, progress)
    } else {
        run_threaded(engine, reader, threads, out, progress)
    }
}

fn emit(engine: &mut Engine, p: Prepared, out: &mut dyn FnMut(Output)) {
    match engine.process_prepared(p) {
        Ok(alerts) => alerts
            .into_iter()
            .for_each(|a| out(Output::Alert(Box::new(a)))),
        Err(b) => out(Output::Bad(b)),
    }
}

fn run_inline(
    engine: &mut Engine,
    mut reader: RecordReader,
    out: &mut dyn FnMut(Output),
    progress: &mut dyn FnMut(u64),
) {
    let screen = engine.screen();
    let file: Arc<str> = Arc::from(reader.name());
    // Each line is processed before the next is screened: the screen can skip the later
    // stages of sequences with nothing pending.
    let mut scratch = ScreenScratch::default();
    scratch.live = Some(engine.live());
    let mut pending_bytes = 0u64;
    loop {
        let p = match reader.next_record() {
            None => break,
            Some(Err(b)) => {
                let fatal = is_fatal(&b);
                emit(engine, Prepared::Bad(b), out);
                if fatal {
                    break;
                }
                continue;
            }
            Some(Ok(rec)) => {
                pending_bytes += rec.bytes.len() as u64 + 1;
                screen.prepare_line(rec.bytes, &file, rec.line, &mut scratch)
            }
        };
        emit(engine, p, out);
        if pending_bytes >= BATCH_BYTES as u64 {
            progress(pending_bytes);
            pending_bytes = 0;
        }
    }
    progress(pending_bytes);
}

fn read_batches(mut reader: RecordReader, tx: std::sync::mpsc::SyncSender<Batch>) {
    let mut seq = 0u64;
    loop {
        let mut b = Batch {
            seq,
            data: Vec::with_capacity(BATCH_BYTES + 4096),
            items: Vec::with_capacity(1024),
        };
        let mut done = false;
        while b.data.len() < BATCH_BYTES && b.items.len() < BATCH_RECORDS {
            match reader.next_record() {
                None => {
                    done = true;
                    break;
                }
                Some(Err(e)) => {
                    let fatal = is_fatal(&e);
                    b.items.push(Item::Err(e));
                    if fatal {
                        done = true;
                        break;
                    }
                }
                Some(Ok(rec)) => {
                    let start = b.data.len();
                    b.data.extend_from_slice(rec.bytes);
                    b.items.push(Item::Rec {
                        line: rec.line,
                        start,
                        end: b.data.len(),
                    });
                }
            }
        }
        if !b.items.is_empty() && tx.send(b).is_err() {
            return;
        }
        seq += 1;
        if done {
            return;
        }
    }
}

/// A batch's results: sequence number, results, bytes, and the worker that made them.
type Done = (u64, Vec<Prepared>, u64, usize);

fn work(
    screen: Arc<Screen>,
    file: Arc<str>,
    rx: Arc<Mutex<Receiver<Batch>>>,
    tx: std::sync::mpsc::SyncSender<Done>,
    (me, trash): (usize, Receiver<Vec<Arc<LazyEvent>>>),
) {
    let mut scratch = ScreenScratch::default();
    loop {
        // Events this worker screened that the engine is done with: freed here, where
        // they were allocated.
        while let Ok(t) = trash.try_recv() {
            drop(t);
        }
        let batch = {
            let Ok(guard) = rx.lock() else { return };
            match guard.recv() {
                Ok(b) => b,
                Err(_) => return,
            }
        };
        let bytes = batch.data.len() as u64 + batch.items.len() as u64;
        // Shared by the events handed on, instead of a copy of each record.
        let data = Arc::new(batch.data);
        let mut items = batch.items;
        let prepared: Vec<Prepared> = items
            .drain(..)
            .map(|it| match it {
                Item::Err(b) => Prepared::Bad(b),
                Item::Rec { line, start, end } => {
                    screen.prepare_in_batch(&data, (start, end), &file, line, &mut scratch)
                }
            })
            .collect();
        drop(data);
        if tx.send((batch.seq, prepared, bytes, me)).is_err() {
            return;
        }
    }
}

fn run_threaded(
    engine: &mut Engine,
    reader: RecordReader,
    threads: usize,
    out: &mut dyn FnMut(Output),
    progress: &mut dyn FnMut(u64),
) {
    let screen = engine.screen();
    let file: Arc<str> = Arc::from(reader.name());
    let (btx, brx) = sync_channel::<Batch>(threads * 2);
    let brx = Arc::new(Mutex::new(brx));
    let (rtx, rrx) = sync_channel::<Done>(threads * 2);
    engine.keep_trash(true);
    std::thread::scope(|s| {
        s.spawn(move || read_batches(reader, btx));
        let mut trash = Vec::new();
        for me in 0..threads {
            let (screen, file, brx, rtx) = (screen.clone(), file.clone(), brx.clone(), rtx.clone());
            let (ttx, trx) = sync_channel::<Vec<Arc<LazyEvent>>>(threads * 4);
            trash.push(ttx);
            s.spawn(move || work(screen, file, brx, rtx, (me, trx)));
        }
        drop(rtx);
        let mut next = 0u64;
        let mut held: BTreeMap<u64, (Vec<Prepared>, u64, usize)> = BTreeMap::new();
        for (seq, prepared, bytes, by) in rrx.iter() {
            held.insert(seq, (prepared, bytes, by));
            while let Some((prepared, bytes, by)) = held.remove(&next) {
                for p in prepared {
                    emit(engine, p, out);
                }
                // Back to the worker that made them (dropped here if it is behind).
                if let Some(t) = trash.get(by) {
                    let _ = t.try_send(engine.take_trash());
                }
                progress(bytes);
                next += 1;
            }
        }
        drop(trash);
        // Anything left (cannot happen unless a worker died): process in order anyway.
        for (_, (prepared, bytes, _)) in std::mem::take(&mut held) {
            for p in prepared {
                emit(engine, p, out);
            }
            progress(bytes);
        }
    });
    engine.keep_trash(false);
}

/// The parse-only baseline: read every record and parse it, nothing else. Returns
/// (records, bad records, record bytes).
pub fn parse_only(mut reader: RecordReader) -> (u64, u64, u64) {
    let name = reader.name().to_string();
    let (mut n, mut bad, mut bytes) = (0u64, 0u64, 0u64);
    loop {
        match reader.next_record() {
            None => break,
            Some(Err(_)) => {
                bad += 1;
                break;
            }
            Some(Ok(rec)) => {
                n += 1;
                bytes += rec.bytes.len() as u64 + 1;
                if spawnguard_event::reader::parse_record(&name, rec.line, rec.bytes).is_err() {
                    bad += 1;
                }
            }
        }
    }
    (n, bad, bytes)
}
