//! The stateful half of the engine: rule types, history, suppression, alerts.

use crate::alert::{alert_uuid, Alert, ThresholdResult};
use crate::candidate::{sequence_candidate, Candidate};
use crate::config::EnvConfig;
use crate::context::{ModelScanner, StreamContext};
use crate::gate::{Gate, Live};
use crate::history::{term_key, History, HistoryError};
use crate::lazy::LazyEvent;
use crate::screen::{Prepared, PreparedEvent, Screen, ScreenScratch};
use crate::suppress::{Suppressor, Verdict};
use crate::terms::combinations;
use crate::wants::Shape;
use foldhash::HashMap;
use spawnguard_event::reader::BadRecord;
use spawnguard_event::{Event, FieldPath};
use spawnguard_query::query::timestamp_ns;
use spawnguard_query::sequence::{SampleMatcher, SequenceMatcher};
use spawnguard_query::QueryKind;
use spawnguard_rules::{LoadedRule, Rule, RuleType};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the engine runs.
#[derive(Clone)]
pub struct EngineConfig {
    /// Where the new-terms history lives; `None` keeps it in memory (lost at exit).
    pub state_dir: Option<PathBuf>,
    /// Record history, raise nothing.
    pub learn: bool,
    pub env: EnvConfig,
    /// Default cap: at most this many alerts per rule per minute of event time (0: no cap).
    pub max_alerts_per_minute: u64,
    /// Commit the history every this many events that touched it …
    pub commit_every: usize,
    /// … or this much wall time, whichever comes first (and before any new-terms alert).
    pub commit_interval: Duration,
    /// Cap on pending partial sequences per sequence rule.
    pub max_sequence_partials: usize,
    /// Processes remembered (per host, by entity id) for ancestry and model-file linking,
    /// evicted by the clock rule (oldest first, but a process used since the hand last passed
    /// is spared once; see `procs.rs`). The default, 32,768, is the classic `pid_max`: more
    /// than a host's live processes, while a busy parent stays however many short-lived
    /// processes pass. Each costs ~250 bytes of memory touched for the first time, which is
    /// what a batch hunt pays for most (bench/hunt/PROFILE.md).
    pub context_processes: usize,
    pub scanner: Option<Arc<dyn ModelScanner>>,
    /// Parse lines into the projection of the fields rules read, and in full only for alerts
    /// (see [`crate::lazy`]); `false` parses every line in full (the reference behaviour).
    pub project: bool,
    /// `None`: the history is committed before any alert that depends on it is handed back
    /// (one sync per such alert; what a live sensor wants). `Some(d)`: such alerts, and every
    /// alert after them (order is kept), are held until the next commit, made at most `d`
    /// after the first held alert: the same guarantee, with one sync per `d` for a batch.
    pub hold_alerts_for_commit: Option<Duration>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            state_dir: None,
            learn: false,
            env: EnvConfig::default(),
            max_alerts_per_minute: 30,
            commit_every: 10_000,
            commit_interval: Duration::from_secs(1),
            max_sequence_partials: 100_000,
            context_processes: 32_768,
            scanner: None,
            project: true,
            hold_alerts_for_commit: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// Counters of one rule.
#[derive(Debug, Clone, Default)]
pub struct RuleStats {
    pub rule_id: String,
    pub name: String,
    pub alerts: u64,
    /// Alerts held back by `alert_suppression` or the default per-rule cap.
    pub suppressed: u64,
    /// New terms recorded without alerting (`--learn`).
    pub learned: u64,
    /// Times the condition (or a sequence stage) matched.
    pub matched: u64,
}

/// Counters of a run.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub events_read: u64,
    pub skipped_prefilter: u64,
    pub parsed: u64,
    pub bad: u64,
    pub pruned_terms: u64,
    pub sequence_evicted: u64,
    pub rules: Vec<RuleStats>,
}

enum Kind {
    Event,
    NewTerms {
        fields: Vec<FieldPath>,
        window_ns: i64,
    },
    Threshold(Box<ThresholdState>),
    Sequence(Box<SequenceMatcher<Arc<LazyEvent>>>),
    Sample(Box<SampleMatcher<Arc<LazyEvent>>>),
}

struct ThresholdState {
    fields: Vec<FieldPath>,
    value: u64,
    cardinality: Vec<(FieldPath, u64)>,
    window_ns: i64,
    groups: HashMap<Vec<String>, Group>,
}

struct Group {
    start: i64,
    count: u64,
    distinct: Vec<std::collections::HashSet<String>>,
    alerted: bool,
}

/// How often (in events read) sequence state is advanced to the stream clock.
const EXPIRE_EVERY: u64 = 4096;

struct RuleRt {
    rule: Arc<Rule>,
    kind: Kind,
    ts_override: Option<FieldPath>,
    ts_field: FieldPath,
    suppress: Suppressor,
    stats: RuleStats,
}

/// The detection engine. See the crate documentation.
pub struct Engine {
    screen: Arc<Screen>,
    /// Sequence rules with pending partial sequences (for [`Gate`]s).
    live: Arc<Live>,
    rules: Vec<RuleRt>,
    history: History,
    learn: bool,
    env: EnvConfig,
    context: StreamContext,
    commit_every: usize,
    commit_interval: Duration,
    last_commit: Instant,
    since_commit: usize,
    stream_time: i64,
    /// `events_read` at which sequences are next advanced to the stream clock.
    next_expire: u64,
    max_time: i64,
    stats: Stats,
    scratch: ScreenScratch,
    file: Option<Arc<str>>,
    hold_for: Option<Duration>,
    /// Alerts waiting for the commit that makes their history durable, and since when.
    held: Vec<Alert>,
    held_since: Option<Instant>,
    /// Events done with, kept to be dropped by the thread that made them (see
    /// [`Engine::keep_trash`]); `None`: dropped here.
    trash: Option<Vec<Arc<LazyEvent>>>,
}

const MINUTE_NS: i64 = 60_000_000_000;

fn window_secs_ns(secs: u64) -> i64 {
    (secs as i64).saturating_mul(1_000_000_000)
}

impl Engine {
    pub fn new(rules: &[LoadedRule], config: EngineConfig) -> Result<Engine, EngineError> {
        let history = match &config.state_dir {
            Some(d) => History::open(d)?,
            None => History::memory(),
        };
        Ok(Self::with_history(rules, config, history))
    }

    pub fn with_history(rules: &[LoadedRule], config: EngineConfig, history: History) -> Engine {
        let screen = Screen::new(rules);
        let screen = Arc::new(if config.project {
            screen
        } else {
            screen.without_projection()
        });
        let rts: Vec<RuleRt> = rules.iter().map(|lr| rule_runtime(lr, &config)).collect();
        let procs = config.context_processes.max(1);
        let mut context = StreamContext::new(procs, procs.div_ceil(2));
        context.scanner = config.scanner.clone();
        Engine {
            live: Arc::new(Live::new(rules.len())),
            screen,
            stats: Stats {
                rules: rts.iter().map(|r| r.stats.clone()).collect(),
                ..Stats::default()
            },
            rules: rts,
            history,
            learn: config.learn,
            env: config.env,
            context,
            commit_every: config.commit_every.max(1),
            commit_interval: config.commit_interval,
            last_commit: Instant::now(),
            since_commit: 0,
            stream_time: i64::MIN,
            next_expire: EXPIRE_EVERY,
            max_time: i64::MIN,
            scratch: ScreenScratch::default(),
            file: None,
            hold_for: config.hold_alerts_for_commit,
            held: Vec::new(),
            held_since: None,
            trash: None,
        }
    }

    /// From now on (`on`) keeps the events screened elsewhere, once done with, for
    /// [`Engine::take_trash`] instead of dropping them: the thread that screened (and
    /// allocated) them frees them faster, without cross-thread frees. `false` drops them
    /// here again (and any kept).
    pub fn keep_trash(&mut self, on: bool) {
        self.trash = on.then(Vec::new);
    }

    /// The events kept since the last call (see [`Engine::keep_trash`]).
    pub fn take_trash(&mut self) -> Vec<Arc<LazyEvent>> {
        self.trash.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The shareable screening half, for worker threads.
    pub fn screen(&self) -> Arc<Screen> {
        self.screen.clone()
    }

    /// A gate for events of `shape` whose `provided` fields a probe can tell before they are
    /// built (see [`crate::gate`]). `rules` are those this engine was built from, in the same
    /// order. The gate follows this engine's pending sequences: ask it about an event only once
    /// the engine has seen every event before it.
    /// The sequence rules with something pending, kept up to date as events are processed.
    pub(crate) fn live(&self) -> Arc<Live> {
        self.live.clone()
    }

    pub fn gate(&self, rules: &[LoadedRule], provided: &[&str], shape: &Shape<'_>) -> Gate {
        Gate::new(
            self.screen.clone(),
            self.live.clone(),
            rules,
            provided,
            shape,
        )
    }

    /// One raw line (NDJSON record) from `source` = (file, line).
    pub fn process_line(
        &mut self,
        bytes: &[u8],
        source: (&str, u64),
    ) -> Result<Vec<Alert>, BadRecord> {
        let file = match &self.file {
            Some(f) if &**f == source.0 => f.clone(),
            _ => {
                let f: Arc<str> = Arc::from(source.0);
                self.file = Some(f.clone());
                f
            }
        };
        let p = self
            .screen
            .prepare_line(bytes, &file, source.1, &mut self.scratch);
        self.process_prepared(p)
    }

    /// One parsed event.
    pub fn process_event(&mut self, ev: Event) -> Vec<Alert> {
        let p = self.screen.prepare_event(ev, None);
        self.process_prepared(Prepared::Event(p))
            .unwrap_or_default()
    }

    /// A line or event screened by [`Screen`] (possibly on another thread). Lines must be
    /// handed in input order.
    pub fn process_prepared(&mut self, p: Prepared) -> Result<Vec<Alert>, BadRecord> {
        self.stats.events_read += 1;
        let out = self.process_one(p)?;
        if self.held.is_empty() {
            return Ok(out);
        }
        self.held.extend(out);
        if self
            .held_since
            .is_some_and(|t| self.hold_for.is_none_or(|d| t.elapsed() >= d))
        {
            self.commit_now();
            return Ok(self.take_held());
        }
        Ok(Vec::new())
    }

    fn take_held(&mut self) -> Vec<Alert> {
        self.held_since = None;
        std::mem::take(&mut self.held)
    }

    fn commit_now(&mut self) {
        if let Err(e) = self.history.commit() {
            eprintln!("spawnguard: history: {e}");
        }
        self.since_commit = 0;
        self.last_commit = Instant::now();
    }

    fn process_one(&mut self, p: Prepared) -> Result<Vec<Alert>, BadRecord> {
        match p {
            Prepared::Skipped => {
                self.stats.skipped_prefilter += 1;
                Ok(Vec::new())
            }
            Prepared::Bad(b) => {
                self.stats.bad += 1;
                Err(b)
            }
            Prepared::Event(pe) => {
                self.stats.parsed += 1;
                Ok(self.handle(pe))
            }
        }
    }

    fn handle(&mut self, pe: PreparedEvent) -> Vec<Alert> {
        let PreparedEvent {
            event,
            observation,
            timestamp_ns,
            source,
            hits,
            stages,
        } = pe;
        if let Some(o) = observation {
            self.context.apply(o);
        }
        if let Some(ts) = timestamp_ns {
            self.stream_time = self.stream_time.max(ts);
        }
        let mut cands = Vec::new();
        self.expire_sequences(&mut cands);
        // Hits that can change nothing (workers screen ahead of the sequences' state).
        let mut hits = hits;
        self.screen.drop_idle_hits(&mut hits, &stages, &self.live);
        let event = match event {
            Some(event) if !hits.is_empty() => event,
            other => {
                if let (Some(e), Some(t)) = (other, &mut self.trash) {
                    t.push(e);
                }
                return cands
                    .into_iter()
                    .filter_map(|c| self.finish_candidate(c))
                    .collect();
            }
        };
        event.ensure_view(|raw| self.screen.project(raw));
        let mut must_commit = false;
        for &ri in &hits {
            let ri = ri as usize;
            let ts = self.event_time(ri, event.view());
            self.max_time = self.max_time.max(ts);
            let matched = stages.iter().find(|(r, _)| *r as usize == ri).map(|s| s.1);
            match self.rule_step(ri, &event, ts, &source, &mut cands, matched) {
                Ok(c) => must_commit |= c,
                Err(e) => eprintln!("spawnguard: history: {e}"),
            }
        }
        self.maybe_commit();
        let mut out = Vec::new();
        for c in cands {
            if let Some(a) = self.finish_candidate(c) {
                out.push(a);
            }
        }
        if let Some(t) = &mut self.trash {
            t.push(event);
        }
        if !out.is_empty() && self.history.pending() > 0 && must_commit {
            // An alert is about to be handed back: its terms must be durable first.
            if self.hold_for.is_some() {
                self.held.append(&mut out);
                self.held_since.get_or_insert_with(Instant::now);
            } else {
                self.commit_now();
            }
        }
        out
    }

    fn maybe_commit(&mut self) {
        self.since_commit += 1;
        if self.history.pending() == 0 {
            return;
        }
        if self.since_commit >= self.commit_every
            || self.last_commit.elapsed() >= self.commit_interval
        {
            self.commit_now();
        }
    }

    fn event_time(&self, ri: usize, ev: &Event) -> i64 {
        let r = &self.rules[ri];
        r.ts_override
            .as_ref()
            .and_then(|f| ev.first(f))
            .and_then(timestamp_ns)
            .or_else(|| ev.first(&r.ts_field).and_then(timestamp_ns))
            .unwrap_or(if self.stream_time == i64::MIN {
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
            } else {
                self.stream_time
            })
    }

    /// Runs one rule on one event (`matched`: a sequence's stage results from the screen);
    /// returns whether history changed in a way an alert depends on.
    fn rule_step(
        &mut self,
        ri: usize,
        event: &Arc<LazyEvent>,
        ts: i64,
        source: &Option<(Arc<str>, u64)>,
        cands: &mut Vec<Candidate>,
        matched: Option<u64>,
    ) -> Result<bool, HistoryError> {
        let learn = self.learn;
        let rt = &mut self.rules[ri];
        let view = event.view();
        let cand = |event: Arc<LazyEvent>, identity: Option<String>| Candidate {
            rule: ri,
            event,
            time_ns: ts,
            source: source.clone(),
            new_terms: None,
            threshold: None,
            group: Vec::new(),
            identity,
        };
        match &mut rt.kind {
            Kind::Event => {
                rt.stats.matched += 1;
                if !learn {
                    cands.push(cand(event.clone(), None));
                }
                Ok(false)
            }
            Kind::NewTerms { fields, window_ns } => {
                rt.stats.matched += 1;
                let mut first_new: Option<Vec<String>> = None;
                for combo in combinations(view, fields) {
                    let key = term_key(&rt.rule.rule_id, &combo);
                    let last = self.history.get(&key)?;
                    let is_new = match last {
                        None => true,
                        Some(seen) => seen < ts.saturating_sub(*window_ns),
                    };
                    self.history.touch(&key, ts, last)?;
                    if is_new {
                        if learn {
                            rt.stats.learned += 1;
                        } else if first_new.is_none() {
                            first_new = Some(combo);
                        }
                    }
                }
                match first_new {
                    Some(nt) => {
                        let mut c = cand(event.clone(), None);
                        c.new_terms = Some(nt);
                        cands.push(c);
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
            Kind::Threshold(th) => {
                rt.stats.matched += 1;
                let groups = if th.fields.is_empty() {
                    vec![Vec::new()]
                } else {
                    combinations(view, &th.fields)
                };
                for g in groups {
                    let st = th.groups.entry(g.clone()).or_insert_with(|| Group {
                        start: ts,
                        count: 0,
                        distinct: vec![Default::default(); th.cardinality.len()],
                        alerted: false,
                    });
                    if ts - st.start > th.window_ns {
                        *st = Group {
                            start: ts,
                            count: 0,
                            distinct: vec![Default::default(); th.cardinality.len()],
                            alerted: false,
                        };
                    }
                    st.count += 1;
                    for (i, (f, _)) in th.cardinality.iter().enumerate() {
                        for v in crate::terms::field_values(view, f) {
                            if let Some(set) = st.distinct.get_mut(i) {
                                if set.len() < 100_000 {
                                    set.insert(v);
                                }
                            }
                        }
                    }
                    let card_ok = th.cardinality.iter().enumerate().all(|(i, (_, min))| {
                        st.distinct.get(i).map(|s| s.len() as u64).unwrap_or(0) >= *min
                    });
                    if st.count >= th.value && card_ok && !st.alerted {
                        st.alerted = true;
                        if learn {
                            continue;
                        }
                        let terms: Vec<(String, String)> = th
                            .fields
                            .iter()
                            .map(|f| f.as_str().to_string())
                            .zip(g.iter().cloned())
                            .collect();
                        let id = format!("threshold|{}|{}", g.join("\u{1f}"), st.start);
                        let mut c = cand(event.clone(), Some(id));
                        c.threshold = Some(ThresholdResult {
                            terms,
                            count: st.count,
                            cardinality: th
                                .cardinality
                                .iter()
                                .enumerate()
                                .map(|(i, (f, _))| {
                                    (
                                        f.as_str().to_string(),
                                        st.distinct.get(i).map(|s| s.len() as u64).unwrap_or(0),
                                    )
                                })
                                .collect(),
                            from_ns: st.start,
                        });
                        cands.push(c);
                    }
                }
                // Bound the state: forget groups whose window has passed.
                if th.groups.len() > 100_000 {
                    let w = th.window_ns;
                    th.groups.retain(|_, s| ts - s.start <= w);
                }
                Ok(false)
            }
            Kind::Sequence(m) => {
                // Only the document of a pending event is read again (for the alert).
                let matches = m.push_matched(view, ts, || event.retained(), matched);
                self.live.set(ri, m.is_live());
                for sm in matches {
                    rt.stats.matched += 1;
                    if let Some(mut c) = sequence_candidate(ri, sm, learn) {
                        c.source = source.clone();
                        cands.push(c);
                    }
                }
                Ok(false)
            }
            Kind::Sample(m) => {
                for sm in m.push(view, event.retained()) {
                    rt.stats.matched += 1;
                    if learn {
                        continue;
                    }
                    let last = sm.items.last().cloned().unwrap_or_else(|| event.clone());
                    let mut c = cand(last, None);
                    c.group = sm.items;
                    cands.push(c);
                }
                Ok(false)
            }
        }
    }

    /// Every [`EXPIRE_EVERY`] events, advances every sequence rule to the stream clock:
    /// pending sequences past their `maxspan` are dropped (a rule whose stages an event
    /// rarely matches would otherwise keep them until its cap), and matches held back for a
    /// trailing missing event whose window has passed become candidates.
    fn expire_sequences(&mut self, cands: &mut Vec<Candidate>) {
        if self.stats.events_read < self.next_expire || self.stream_time == i64::MIN {
            return;
        }
        self.next_expire = self.stats.events_read + EXPIRE_EVERY;
        let now = self.stream_time;
        for (ri, rt) in self.rules.iter_mut().enumerate() {
            if let Kind::Sequence(m) = &mut rt.kind {
                for sm in m.expire(now) {
                    rt.stats.matched += 1;
                    cands.extend(sequence_candidate(ri, sm, self.learn));
                }
                self.live.set(ri, m.is_live());
            }
        }
    }

    fn finish_candidate(&mut self, c: Candidate) -> Option<Alert> {
        let rt = &mut self.rules[c.rule];
        // The whole document only for an alert that is emitted: suppression groups read
        // their fields from the projection (which includes them) when there is one.
        let verdict = match c.event.fields() {
            Some(view) => rt.suppress.check(|| view, c.time_ns),
            None => rt.suppress.check(|| c.event.full(), c.time_ns),
        };
        match verdict {
            Verdict::Emit => {}
            Verdict::Suppress => {
                rt.stats.suppressed += 1;
                return None;
            }
        }
        rt.stats.alerts += 1;
        let event = c.event.full();
        let identity = c.identity();
        let host_env = self.env.host_env(&event);
        let ancestry = self.context.ancestry(&event);
        let model_files = self.context.model_files(&event, &ancestry);
        Some(Alert {
            uuid: alert_uuid(&rt.rule.rule_id, &identity),
            rule: rt.rule.clone(),
            event,
            time_ns: c.time_ns,
            source: c.source,
            new_terms: c.new_terms,
            threshold: c.threshold,
            group: c.group.iter().map(|e| e.full()).collect(),
            host_env,
            ancestry,
            model_files,
        })
    }

    /// Ends the input: releases held-back sequence matches, prunes the history past each
    /// new-terms window (relative to the latest event time seen) and commits it.
    pub fn finish(&mut self) -> Vec<Alert> {
        let mut cands = Vec::new();
        for (ri, rt) in self.rules.iter_mut().enumerate() {
            if let Kind::Sequence(m) = &mut rt.kind {
                for sm in m.flush() {
                    rt.stats.matched += 1;
                    cands.extend(sequence_candidate(ri, sm, self.learn));
                }
                self.live.set(ri, m.is_live());
                self.stats.sequence_evicted += m.stats().evicted_cap;
            }
        }
        let out: Vec<Alert> = cands
            .into_iter()
            .filter_map(|c| self.finish_candidate(c))
            .collect();
        if self.max_time != i64::MIN {
            for i in 0..self.rules.len() {
                if let Kind::NewTerms { window_ns, .. } = &self.rules[i].kind {
                    let cutoff = self.max_time.saturating_sub(*window_ns);
                    let id = self.rules[i].rule.rule_id.clone();
                    match self.history.prune(&id, cutoff) {
                        Ok(n) => self.stats.pruned_terms += n,
                        Err(e) => eprintln!("spawnguard: history: {e}"),
                    }
                }
            }
        }
        self.commit_now();
        // Alerts held for a commit come first: they are older.
        let mut all = self.take_held();
        all.extend(out);
        all
    }

    /// Switches learn mode (record history, raise nothing) on or off from now on: a live
    /// sensor learns for a while after start, then alerts.
    pub fn set_learn(&mut self, learn: bool) {
        self.learn = learn;
    }

    /// Commits the history now.
    pub fn commit(&mut self) -> Result<(), HistoryError> {
        self.history.commit()
    }

    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.rules = self.rules.iter().map(|r| r.stats.clone()).collect();
        s
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }
}

fn rule_runtime(lr: &LoadedRule, config: &EngineConfig) -> RuleRt {
    let rule = lr.rule.clone();
    let kind = match (&rule.rule_type, &lr.query.kind) {
        (_, QueryKind::Sequence(s)) => {
            let cfg = spawnguard_query::sequence::SequenceConfig {
                max_partials: config.max_sequence_partials.max(10),
                ..Default::default()
            };
            Kind::Sequence(Box::new(SequenceMatcher::with_config(s, cfg)))
        }
        (_, QueryKind::Sample(s)) => Kind::Sample(Box::new(SampleMatcher::new(s))),
        (RuleType::NewTerms, _) => match &rule.new_terms {
            Some(nt) => Kind::NewTerms {
                fields: nt.fields.iter().map(|f| FieldPath::new(f)).collect(),
                window_ns: window_secs_ns(nt.history_window_secs),
            },
            None => Kind::Event,
        },
        (RuleType::Threshold, _) => match &rule.threshold {
            Some(t) => {
                let secs = rule
                    .from
                    .as_deref()
                    .and_then(|f| spawnguard_rules::parse_now_minus(f).ok())
                    .unwrap_or(360);
                Kind::Threshold(Box::new(ThresholdState {
                    fields: t.fields.iter().map(|f| FieldPath::new(f)).collect(),
                    value: t.value.max(1),
                    cardinality: t
                        .cardinality
                        .iter()
                        .map(|c| (FieldPath::new(&c.field), c.value))
                        .collect(),
                    window_ns: window_secs_ns(secs),
                    groups: HashMap::default(),
                }))
            }
            None => Kind::Event,
        },
        _ => Kind::Event,
    };
    RuleRt {
        ts_override: rule.timestamp_override.as_deref().map(FieldPath::new),
        ts_field: lr.query.timestamp_field.clone(),
        suppress: Suppressor::new(&rule, config.max_alerts_per_minute, MINUTE_NS),
        stats: RuleStats {
            rule_id: rule.rule_id.clone(),
            name: rule.name.clone(),
            ..RuleStats::default()
        },
        kind,
        rule,
    }
}
