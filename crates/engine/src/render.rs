//! The human view of an alert: rule, severity, host, time, environment, the process ancestry
//! with command lines, and the rule's triage steps.

use crate::alert::{format_ns, Alert};
use std::fmt::Write;

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Renders one alert for a terminal (`color` adds ANSI colours).
pub fn render_alert(a: &Alert, color: bool) -> String {
    let st = Style { on: color };
    let mut o = String::new();
    let sev = a.rule.severity.as_str().to_ascii_uppercase();
    let sev_code = match a.rule.severity {
        spawnguard_rules::Severity::Critical => "1;41;97",
        spawnguard_rules::Severity::High => "1;31",
        spawnguard_rules::Severity::Medium => "1;33",
        spawnguard_rules::Severity::Low => "1;36",
    };
    let _ = writeln!(
        o,
        "{} {}  {}",
        st.paint(sev_code, &format!("[{sev}]")),
        st.paint("1", &a.rule.name),
        st.paint("2", &format!("({})", a.rule.rule_id))
    );
    let host = a
        .event
        .get_str("host.name")
        .or_else(|| a.event.get_str("host.hostname"))
        .unwrap_or("-");
    let env = a.host_env.environment.as_deref().unwrap_or("unknown");
    let _ = writeln!(o, "  time         {}", format_ns(a.time_ns));
    let _ = writeln!(
        o,
        "  host         {host}   environment: {}",
        st.paint("1", env)
    );
    if let Some(u) = a.event.get_str("user.name") {
        let _ = writeln!(o, "  user         {u}");
    }
    if let Some((f, l)) = &a.source {
        let _ = writeln!(o, "  source       {f}:{l}");
    }
    let _ = writeln!(o, "  reason       {}", a.reason());
    if let Some(nt) = &a.new_terms {
        let _ = writeln!(o, "  new terms    {}", nt.join(", "));
    }
    if let Some(t) = &a.threshold {
        let _ = writeln!(
            o,
            "  count        {} since {}",
            t.count,
            format_ns(t.from_ns)
        );
    }
    if !a.ancestry.is_empty() {
        let _ = writeln!(o, "  ancestry");
        for (depth, p) in a.ancestry.iter().enumerate() {
            let indent = "  ".repeat(depth);
            let arrow = if depth == 0 { "" } else { "└─ " };
            let name = p.name.as_deref().or(p.executable.as_deref()).unwrap_or("?");
            let pid = p.pid.map(|x| format!(" [{x}]")).unwrap_or_default();
            let cl = p.command_line.as_deref().unwrap_or("");
            let last = depth + 1 == a.ancestry.len();
            let name = if last {
                st.paint("1;31", name)
            } else {
                st.paint("1", name)
            };
            let _ = writeln!(o, "    {indent}{arrow}{name}{pid}  {cl}");
        }
    }
    if a.group.len() > 1 {
        let _ = writeln!(o, "  sequence     {} events", a.group.len());
        for (i, e) in a.group.iter().enumerate() {
            let what = e
                .get_str("process.command_line")
                .or_else(|| e.get_str("process.name"))
                .unwrap_or("");
            let cat = e.get_str("event.category").unwrap_or("");
            let ts = e.get_str("@timestamp").unwrap_or("");
            let _ = writeln!(o, "    {}. {ts} {cat} {what}", i + 1);
        }
    }
    if !a.model_files.is_empty() {
        let _ = writeln!(o, "  model files opened by the python parent");
        for f in &a.model_files {
            let path = f.get("path").and_then(|v| v.as_str()).unwrap_or("?");
            let at = f.get("opened_at").and_then(|v| v.as_str()).unwrap_or("");
            let scan = f.get("scan");
            let verdict = scan
                .and_then(|s| s.get("verdict"))
                .and_then(|v| v.as_str())
                .map(|v| format!("  verdict: {v}"))
                .unwrap_or_default();
            let _ = writeln!(o, "    {path}  (opened {at}){verdict}");
            let calls = scan.and_then(|s| s.get("calls")).and_then(|c| c.as_array());
            for call in calls.into_iter().flatten().filter_map(|c| c.as_str()) {
                let _ = writeln!(o, "      runs on load: {call}");
            }
            let tied = scan
                .and_then(|s| s.get("command_line_literals"))
                .and_then(|c| c.as_array());
            for lit in tied.into_iter().flatten().filter_map(|c| c.as_str()) {
                let _ = writeln!(
                    o,
                    "      the shell's command line contains {lit:?}, a string from this file"
                );
            }
        }
    }
    if let Some(note) = &a.rule.note {
        let triage = triage_steps(note, a.host_env.environment.as_deref());
        if !triage.trim().is_empty() {
            let _ = writeln!(o, "  {}", st.paint("1", "triage"));
            for line in triage.lines() {
                let _ = writeln!(o, "    {line}");
            }
        }
    }
    o
}

struct Heading {
    line: usize,
    level: usize,
    title: String,
}

fn headings(lines: &[&str]) -> Vec<Heading> {
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let t = l.trim_start();
            let level = t.bytes().take_while(|&b| b == b'#').count();
            (level > 0 && t[level..].starts_with(' ')).then(|| Heading {
                line: i,
                level,
                title: t[level..].trim().to_string(),
            })
        })
        .collect()
}

/// The environment a heading is for (`### If the host is in CI` → `ci`).
fn env_of(title: &str) -> Option<String> {
    let l = title.to_ascii_lowercase();
    let rest = l.strip_prefix("if the host is in ")?;
    let word: String = rest
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// Lines of the section starting at heading `hi`, up to the next heading of the same or a
/// higher level (or an environment heading).
fn section(lines: &[&str], hs: &[Heading], hi: usize, stop_at_env: bool) -> Vec<String> {
    let h = &hs[hi];
    let end = hs[hi + 1..]
        .iter()
        .find(|n| n.level <= h.level || (stop_at_env && env_of(&n.title).is_some()))
        .map(|n| n.line)
        .unwrap_or(lines.len());
    lines[h.line..end].iter().map(|s| s.to_string()).collect()
}

/// The triage part of a rule's note: its investigation/triage steps, and of the
/// `If the host is in …` sections only the one for `environment` (all of them when the
/// environment is unknown or none matches).
pub fn triage_steps(note: &str, environment: Option<&str>) -> String {
    let lines: Vec<&str> = note.lines().collect();
    let hs = headings(&lines);
    let general = hs
        .iter()
        .position(|h| {
            let t = h.title.to_ascii_lowercase();
            t.contains("investigation steps") || t.contains("triage steps")
        })
        .or_else(|| {
            hs.iter().position(|h| {
                h.title.to_ascii_lowercase().contains("triage") && env_of(&h.title).is_none()
            })
        });
    let mut out: Vec<String> = match general {
        Some(i) => section(&lines, &hs, i, true),
        None if hs.is_empty() => lines.iter().take(25).map(|s| s.to_string()).collect(),
        None => Vec::new(),
    };
    let envs: Vec<(usize, String)> = hs
        .iter()
        .enumerate()
        .filter_map(|(i, h)| env_of(&h.title).map(|e| (i, e)))
        .collect();
    let want = environment.map(|e| e.to_ascii_lowercase());
    let matching: Vec<usize> = envs
        .iter()
        .filter(|(_, e)| want.as_deref() == Some(e.as_str()))
        .map(|(i, _)| *i)
        .collect();
    let chosen: Vec<usize> = if matching.is_empty() {
        envs.iter().map(|(i, _)| *i).collect()
    } else {
        matching
    };
    for i in chosen {
        if general.is_some_and(|g| {
            let gl = hs[g].line;
            let sec = section(&lines, &hs, g, true);
            hs[i].line >= gl && hs[i].line < gl + sec.len()
        }) {
            continue;
        }
        out.push(String::new());
        out.extend(section(&lines, &hs, i, true));
    }
    if out.iter().all(|l| l.trim().is_empty()) {
        return lines
            .iter()
            .take(25)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("\n");
    }
    // Trim blank runs.
    let mut text = String::new();
    let mut blank = false;
    for l in out {
        if l.trim().is_empty() {
            if !blank && !text.is_empty() {
                text.push('\n');
            }
            blank = true;
        } else {
            text.push_str(l.trim_end());
            text.push('\n');
            blank = false;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "## Triage and analysis\n\n### Investigating X\n\nIntro.\n\n#### Possible investigation steps\n\n- Look at the parent.\n- Check the user.\n\n### If the host is in CI\n\n- Rotate CI tokens.\n\n### If the host is in staging\n\n- Snapshot it.\n\n### If the host is in production\n\n- Isolate it.\n\n### False positive analysis\n\n- Jupyter.\n";

    #[test]
    fn triage_picks_the_environment_section() {
        let ci = triage_steps(NOTE, Some("ci"));
        assert!(ci.contains("Look at the parent."));
        assert!(ci.contains("Rotate CI tokens."));
        assert!(!ci.contains("Isolate it."));
        assert!(!ci.contains("Jupyter"));
        let unknown = triage_steps(NOTE, None);
        for s in [
            "Rotate CI tokens.",
            "Snapshot it.",
            "Isolate it.",
            "Check the user.",
        ] {
            assert!(unknown.contains(s), "{s} missing from {unknown}");
        }
        let prod = triage_steps(NOTE, Some("production"));
        assert!(prod.contains("Isolate it.") && !prod.contains("Snapshot it."));
    }
}
