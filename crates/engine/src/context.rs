//! What the stream tells us beyond single events: process ancestry per host and the model
//! files each process opened. Both are bounded (oldest entries evicted first).

use crate::procs::{Proc, ProcBuilder, ProcTable, PARENT_ENTITY_ID};
use foldhash::HashMap;
use serde_json::{json, Value};
use spawnguard_event::{Event, FieldPath};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

/// Plugs a model-file scanner (crates/scan) into alerts: given a path that exists locally,
/// and the command line of the alert's process (the shell), return the file's verdict (any
/// JSON object), or `None` when it cannot say.
pub trait ModelScanner: Send + Sync {
    fn scan(&self, path: &Path, command_line: Option<&str>) -> Option<Value>;
}

/// One process as the ancestry view shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProcInfo {
    pub entity_id: Option<String>,
    pub pid: Option<i64>,
    pub name: Option<String>,
    pub executable: Option<String>,
    pub command_line: Option<String>,
    pub user: Option<String>,
    pub parent_entity_id: Option<String>,
}

/// A model file a process opened.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    pub path: String,
    pub opened_at: Option<String>,
}

/// File name endings taken as model files.
pub const MODEL_EXTENSIONS: &[&str] = &[
    ".pt",
    ".pth",
    ".pkl",
    ".pickle",
    ".bin",
    ".ckpt",
    ".joblib",
    ".npy",
    ".npz",
    ".safetensors",
    ".h5",
    ".hdf5",
    ".onnx",
    ".gguf",
    ".keras",
    ".pb",
    ".tflite",
    ".mar",
    ".model",
    ".dill",
    ".sav",
];

pub fn is_model_path(p: &str) -> bool {
    let l = p.to_ascii_lowercase();
    MODEL_EXTENSIONS.iter().any(|e| l.ends_with(e))
}

struct Paths {
    entity_id: FieldPath,
    pid: FieldPath,
    name: FieldPath,
    executable: FieldPath,
    command_line: FieldPath,
    args: FieldPath,
    user: FieldPath,
    parent_entity_id: FieldPath,
    p_pid: FieldPath,
    p_name: FieldPath,
    p_executable: FieldPath,
    p_command_line: FieldPath,
    p_args: FieldPath,
    ancestry: FieldPath,
    host_id: FieldPath,
    host_name: FieldPath,
    category: FieldPath,
    file_path: FieldPath,
    timestamp: FieldPath,
}

impl Paths {
    fn new() -> Paths {
        let f = FieldPath::new;
        Paths {
            entity_id: f("process.entity_id"),
            pid: f("process.pid"),
            name: f("process.name"),
            executable: f("process.executable"),
            command_line: f("process.command_line"),
            args: f("process.args"),
            user: f("user.name"),
            parent_entity_id: f("process.parent.entity_id"),
            p_pid: f("process.parent.pid"),
            p_name: f("process.parent.name"),
            p_executable: f("process.parent.executable"),
            p_command_line: f("process.parent.command_line"),
            p_args: f("process.parent.args"),
            ancestry: f("process.Ext.ancestry"),
            host_id: f("host.id"),
            host_name: f("host.name"),
            category: f("event.category"),
            file_path: f("file.path"),
            timestamp: f("@timestamp"),
        }
    }
}

/// The stateless part of [`StreamContext::observe`]: the event's host, process and model
/// file, read from the event (no state), so that screening threads can do it and drop the
/// event there.
#[derive(Debug, Clone)]
pub struct Observation {
    host: String,
    me: Proc,
    is_file: bool,
    /// A model file opened (path, time), for file events.
    model_file: Option<(String, Option<String>)>,
}

/// Extracts [`Observation`]s; shareable between threads.
pub struct Observer {
    paths: Paths,
}

impl Default for Observer {
    fn default() -> Self {
        Observer {
            paths: Paths::new(),
        }
    }
}

impl Observer {
    /// Every field [`Observer::observe`] reads.
    /// The fields in which the stream context's literal ([`crate::screen::CONTEXT_LITERAL`])
    /// matters: names, paths, command lines and arguments.
    pub fn text_fields(&self) -> Vec<FieldPath> {
        let p = &self.paths;
        [
            &p.name,
            &p.executable,
            &p.command_line,
            &p.args,
            &p.user,
            &p.p_name,
            &p.p_executable,
            &p.p_command_line,
            &p.p_args,
            &p.host_name,
            &p.file_path,
        ]
        .into_iter()
        .cloned()
        .collect()
    }

    pub fn fields(&self) -> Vec<FieldPath> {
        let p = &self.paths;
        [
            &p.entity_id,
            &p.pid,
            &p.name,
            &p.executable,
            &p.command_line,
            &p.args,
            &p.user,
            &p.parent_entity_id,
            &p.p_pid,
            &p.p_name,
            &p.p_executable,
            &p.p_command_line,
            &p.p_args,
            &p.ancestry,
            &p.host_id,
            &p.host_name,
            &p.category,
            &p.file_path,
            &p.timestamp,
        ]
        .into_iter()
        .cloned()
        .collect()
    }

    /// `None` when the event teaches the context nothing (no process entity id).
    pub fn observe(&self, ev: &Event) -> Option<Observation> {
        observation(&self.paths, ev)
    }
}

fn observation(paths: &Paths, ev: &Event) -> Option<Observation> {
    let host = s(ev, &paths.host_id)
        .or_else(|| s(ev, &paths.host_name))
        .unwrap_or_default();
    let me = proc_of(paths, ev);
    me.entity_id()?;
    let is_file = ev
        .values(&paths.category)
        .iter()
        .any(|v| v.as_str() == Some("file"));
    let model_file = if is_file {
        s(ev, &paths.file_path)
            .filter(|p| is_model_path(p))
            .map(|path| (path, s(ev, &paths.timestamp)))
    } else {
        None
    };
    Some(Observation {
        host,
        me,
        is_file,
        model_file,
    })
}

/// [`process_info`], compact: the strings are copied once, into one allocation.
fn proc_of(p: &Paths, ev: &Event) -> Proc {
    let mut b = ProcBuilder::new();
    b.field(|t| text_of(ev, &p.entity_id, t));
    b.field(|t| text_of(ev, &p.name, t));
    b.field(|t| text_of(ev, &p.executable, t));
    b.field(|t| text_of(ev, &p.command_line, t) || args_of(ev, &p.args, t));
    b.field(|t| text_of(ev, &p.user, t));
    b.field(|t| text_of(ev, &p.parent_entity_id, t));
    b.finish(ev.first(&p.pid).and_then(Value::as_i64))
}

/// Appends what [`s`] gives, if anything.
fn text_of(ev: &Event, f: &FieldPath, out: &mut String) -> bool {
    match ev.first(f) {
        Some(Value::String(s)) => out.push_str(s),
        Some(Value::Number(n)) => Proc::number(out, n),
        _ => return false,
    }
    true
}

/// Appends the string arguments joined by spaces, as [`cmdline`] falls back to, if any.
fn args_of(ev: &Event, args: &FieldPath, out: &mut String) -> bool {
    let mut any = false;
    for a in ev.values(args).iter().filter_map(|v| v.as_str()) {
        if any {
            out.push(' ');
        }
        out.push_str(a);
        any = true;
    }
    any
}

fn process_info(p: &Paths, ev: &Event) -> ProcInfo {
    ProcInfo {
        entity_id: s(ev, &p.entity_id),
        pid: ev.first(&p.pid).and_then(Value::as_i64),
        name: s(ev, &p.name),
        executable: s(ev, &p.executable),
        command_line: cmdline(ev, &p.command_line, &p.args),
        user: s(ev, &p.user),
        parent_entity_id: s(ev, &p.parent_entity_id),
    }
}

/// Bounded per-host process cache and per-process model files.
pub struct StreamContext {
    paths: Paths,
    procs: ProcTable,
    files: HashMap<(String, String), Vec<ModelFile>>,
    file_order: VecDeque<(String, String)>,
    max_file_procs: usize,
    pub scanner: Option<Arc<dyn ModelScanner>>,
}

const MAX_FILES_PER_PROC: usize = 32;
const MAX_DEPTH: usize = 8;

fn s(ev: &Event, f: &FieldPath) -> Option<String> {
    ev.first(f).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn cmdline(ev: &Event, cl: &FieldPath, args: &FieldPath) -> Option<String> {
    s(ev, cl).or_else(|| {
        let a: Vec<String> = ev
            .values(args)
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        (!a.is_empty()).then(|| a.join(" "))
    })
}

impl Default for StreamContext {
    fn default() -> Self {
        Self::new(32_768, 50_000)
    }
}

impl StreamContext {
    pub fn new(max_procs: usize, max_file_procs: usize) -> StreamContext {
        StreamContext {
            paths: Paths::new(),
            procs: ProcTable::new(max_procs),
            files: HashMap::default(),
            file_order: VecDeque::new(),
            max_file_procs,
            scanner: None,
        }
    }

    fn host(&self, ev: &Event) -> String {
        s(ev, &self.paths.host_id)
            .or_else(|| s(ev, &self.paths.host_name))
            .unwrap_or_default()
    }

    /// The event's own process, from its `process.*` fields.
    pub fn process_of(&self, ev: &Event) -> ProcInfo {
        process_info(&self.paths, ev)
    }

    fn parent_of(&self, ev: &Event) -> Option<ProcInfo> {
        let p = &self.paths;
        let info = ProcInfo {
            entity_id: s(ev, &p.parent_entity_id),
            pid: ev.first(&p.p_pid).and_then(Value::as_i64),
            name: s(ev, &p.p_name),
            executable: s(ev, &p.p_executable),
            command_line: cmdline(ev, &p.p_command_line, &p.p_args),
            user: None,
            parent_entity_id: None,
        };
        (info != ProcInfo::default()).then_some(info)
    }

    /// Learns from an event: processes (by entity id) and model files opened.
    pub fn observe(&mut self, ev: &Event) {
        if let Some(o) = observation(&self.paths, ev) {
            self.apply(o);
        }
    }

    /// What [`StreamContext::observe`] would learn from an event, extracted on any thread
    /// (see [`Observer`]); apply it here in stream order.
    pub fn apply(&mut self, o: Observation) {
        let Observation {
            host,
            me,
            is_file,
            model_file,
        } = o;
        let Some(eid) = me.entity_id() else {
            return;
        };
        if is_file {
            if let Some((path, opened_at)) = model_file {
                let key = (host, eid.to_string());
                if !self.files.contains_key(&key) {
                    if self.file_order.len() >= self.max_file_procs {
                        if let Some(old) = self.file_order.pop_front() {
                            self.files.remove(&old);
                        }
                    }
                    self.file_order.push_back(key.clone());
                }
                let list = self.files.entry(key).or_default();
                if list.len() < MAX_FILES_PER_PROC && !list.iter().any(|f| f.path == path) {
                    list.push(ModelFile { path, opened_at });
                }
            }
            return;
        }
        self.procs.learn(host, me);
    }

    /// The event's process ancestry, oldest first, ending with the event's process.
    pub fn ancestry(&self, ev: &Event) -> Vec<ProcInfo> {
        let host = self.host(ev);
        let me = self.process_of(ev);
        let mut chain = vec![me.clone()];
        let parent = self.parent_of(ev).map(|mut p| {
            if let Some(id) = &p.entity_id {
                if let Some(known) = self.procs.get(&host, id) {
                    merge(&mut p, known.info());
                }
            }
            p
        });
        let ext: Vec<String> = ev
            .values(&self.paths.ancestry)
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        if let Some(p) = parent {
            let mut visited: Vec<String> = Vec::new();
            visited.extend(me.entity_id.clone());
            visited.extend(p.entity_id.clone());
            let mut next = p.parent_entity_id.clone();
            chain.push(p);
            // process.Ext.ancestry lists entity ids, parent first: a fallback when the cache
            // does not know a process's parent.
            let mut ext_iter = ext.iter();
            while chain.len() < MAX_DEPTH {
                let id = match next.take() {
                    Some(id) => id,
                    None => match ext_iter.by_ref().find(|e| !visited.contains(e)) {
                        Some(e) => e.clone(),
                        None => break,
                    },
                };
                if visited.contains(&id) {
                    continue;
                }
                visited.push(id.clone());
                if let Some(known) = self.procs.get(&host, &id) {
                    next = known.get(PARENT_ENTITY_ID).map(str::to_string);
                    chain.push(known.info());
                }
            }
        }
        chain.reverse();
        chain
    }

    /// The model files opened by the nearest python ancestor in the chain, with scanner
    /// verdicts when a scanner is plugged in and the file exists here.
    pub fn model_files(&self, ev: &Event, chain: &[ProcInfo]) -> Vec<Value> {
        let host = self.host(ev);
        // Nearest ancestor first, skipping the event's own process (last in chain).
        let py = chain.iter().rev().skip(1).find(|p| {
            p.name
                .as_deref()
                .map(|n| n.to_ascii_lowercase().starts_with("python"))
                .unwrap_or(false)
        });
        let Some(id) = py.and_then(|p| p.entity_id.clone()) else {
            return Vec::new();
        };
        let Some(files) = self.files.get(&(host, id.clone())) else {
            return Vec::new();
        };
        files
            .iter()
            .map(|f| {
                let mut v =
                    json!({"path": f.path, "opened_at": f.opened_at, "process.entity_id": id});
                if let Some(sc) = &self.scanner {
                    let p = Path::new(&f.path);
                    if p.exists() {
                        if let Some(verdict) = sc.scan(p, ev.get_str("process.command_line")) {
                            v["scan"] = verdict;
                        }
                    }
                }
                v
            })
            .collect()
    }
}

fn merge(into: &mut ProcInfo, from: ProcInfo) {
    into.entity_id = into.entity_id.take().or(from.entity_id);
    into.pid = into.pid.or(from.pid);
    into.name = into.name.take().or(from.name);
    into.executable = into.executable.take().or(from.executable);
    into.command_line = into.command_line.take().or(from.command_line);
    into.user = into.user.take().or(from.user);
    into.parent_entity_id = into.parent_entity_id.take().or(from.parent_entity_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grandparents_and_model_files_from_the_stream() {
        let mut c = StreamContext::default();
        let host = json!({"name": "web-1"});
        c.observe(&Event::new(
            json!({"host": host, "event": {"category": ["process"]},
            "process": {"entity_id": "P", "name": "python3", "command_line": "python3 serve.py",
                        "parent": {"entity_id": "G", "name": "bash"}}}),
        ));
        c.observe(&Event::new(
            json!({"host": host, "event": {"category": ["process"]},
            "process": {"entity_id": "G", "name": "bash", "command_line": "-bash"}}),
        ));
        c.observe(&Event::new(
            json!({"host": host, "event": {"category": "file"}, "@timestamp": "t1",
            "process": {"entity_id": "P", "name": "python3"}, "file": {"path": "/m/model.pkl"}}),
        ));
        let alert = Event::new(
            json!({"host": host, "process": {"entity_id": "C", "name": "sh",
            "command_line": "sh -c id", "parent": {"entity_id": "P", "name": "python3"}}}),
        );
        let chain = c.ancestry(&alert);
        let names: Vec<_> = chain
            .iter()
            .map(|p| p.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, ["bash", "python3", "sh"]);
        assert_eq!(chain[1].command_line.as_deref(), Some("python3 serve.py"));
        let files = c.model_files(&alert, &chain);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0]["path"], "/m/model.pkl");
        assert_eq!(files[0]["opened_at"], "t1");
    }
}
