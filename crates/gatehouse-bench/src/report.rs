//! The results report: medians over rounds, ratios against HAProxy, as Markdown tables.
//!
//! Load rows (TSV, written by `bench/run.sh`): `scenario conns target round requests duration_us
//! p50_us p99_us cpu_us rss_kb socket_errors status_errors ok refused other cache_hit_pct` (the
//! last is `-` for targets without a verified-token cache).
//! Idle rows: `target conns rss_before_kb rss_after_kb established`. Signature-check rows: the
//! microseconds of one RS256 check, one measurement a line (`verify-cost`, once a round).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The peer every figure is compared with.
const REFERENCE: &str = "haproxy";

struct Sample {
    scenario: String,
    conns: u32,
    target: String,
    requests: f64,
    duration_us: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
    rss_kb: f64,
    socket_errors: u64,
    status_errors: u64,
    ok: f64,
    refused: f64,
    other: u64,
    cache_hit_pct: Option<f64>,
}

fn parse(line: &str) -> anyhow::Result<Sample> {
    let f: Vec<&str> = line.split('\t').collect();
    anyhow::ensure!(f.len() == 16, "expected 16 fields, got {}", f.len());
    let num = |i: usize| -> anyhow::Result<f64> {
        f[i].parse::<f64>()
            .with_context(|| format!("field {i}: {:?}", f[i]))
    };
    let int = |i: usize| -> anyhow::Result<u64> {
        f[i].parse::<u64>()
            .with_context(|| format!("field {i}: {:?}", f[i]))
    };
    Ok(Sample {
        scenario: f[0].to_owned(),
        conns: f[1].parse()?,
        target: f[2].to_owned(),
        requests: num(4)?,
        duration_us: num(5)?,
        p50_us: num(6)?,
        p99_us: num(7)?,
        cpu_us: num(8)?,
        rss_kb: num(9)?,
        socket_errors: int(10)?,
        status_errors: int(11)?,
        ok: num(12)?,
        refused: num(13)?,
        other: int(14)?,
        cache_hit_pct: if f[15] == "-" { None } else { Some(num(15)?) },
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Medians of one (scenario, conns, target) over its rounds.
struct Row {
    scenario: String,
    conns: u32,
    target: String,
    rounds: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_per_req: f64,
    rss_mb: f64,
    errors: u64,
    ok_rps: f64,
    refused_rps: f64,
    cache_hit_pct: Option<f64>,
}

fn rows(samples: &[Sample]) -> Vec<Row> {
    let mut keys: Vec<(String, u32, String)> = Vec::new();
    for s in samples {
        let key = (s.scenario.clone(), s.conns, s.target.clone());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(scenario, conns, target)| {
            let group: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.scenario == scenario && s.conns == conns && s.target == target)
                .collect();
            let med = |f: &dyn Fn(&Sample) -> f64| median(group.iter().map(|s| f(s)).collect());
            let flood = scenario.starts_with("flood");
            Row {
                rounds: group.len(),
                rps: med(&|s| s.requests * 1e6 / s.duration_us),
                p50_ms: med(&|s| s.p50_us / 1000.0),
                p99_ms: med(&|s| s.p99_us / 1000.0),
                cpu_per_req: med(&|s| s.cpu_us / s.requests.max(1.0)),
                rss_mb: group.iter().map(|s| s.rss_kb / 1024.0).fold(0.0, f64::max),
                errors: group
                    .iter()
                    .map(|s| s.socket_errors + if flood { s.other } else { s.status_errors })
                    .sum(),
                ok_rps: med(&|s| s.ok * 1e6 / s.duration_us),
                refused_rps: med(&|s| s.refused * 1e6 / s.duration_us),
                cache_hit_pct: group
                    .iter()
                    .all(|s| s.cache_hit_pct.is_some())
                    .then(|| med(&|s| s.cache_hit_pct.unwrap_or(f64::NAN))),
                scenario,
                conns,
                target,
            }
        })
        .collect()
}

fn ratio(value: f64, reference: Option<f64>) -> String {
    match reference {
        Some(r) if r > 0.0 && value.is_finite() => format!(" ({:.2}×)", value / r),
        _ => String::new(),
    }
}

fn load_tables(out: &mut String, rows: &[Row]) -> anyhow::Result<()> {
    let mut scenarios: Vec<&str> = Vec::new();
    for r in rows {
        if !scenarios.contains(&r.scenario.as_str()) {
            scenarios.push(&r.scenario);
        }
    }
    for scenario in scenarios {
        let flood = scenario.starts_with("flood");
        writeln!(out, "\n### {scenario}\n")?;
        if flood {
            writeln!(
                out,
                "| target | conns | valid served/s | refused/s | all req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MB | unexpected | cache hits |"
            )?;
            writeln!(
                out,
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            )?;
        } else {
            writeln!(
                out,
                "| target | conns | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MB | errors | cache hits | rounds |"
            )?;
            writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        }
        for r in rows.iter().filter(|r| r.scenario == scenario) {
            let reference = rows
                .iter()
                .find(|h| h.scenario == r.scenario && h.conns == r.conns && h.target == REFERENCE);
            let cell = |get: fn(&Row) -> f64, decimals: usize| {
                format!("{:.decimals$}{}", get(r), ratio(get(r), reference.map(get)))
            };
            let common = [
                cell(|x| x.p50_ms, 2),
                cell(|x| x.p99_ms, 2),
                cell(|x| x.cpu_per_req, 1),
                cell(|x| x.rss_mb, 1),
                r.errors.to_string(),
                r.cache_hit_pct
                    .map_or_else(|| "—".to_owned(), |p| format!("{p:.0}%")),
            ];
            let mut cells = vec![r.target.clone(), r.conns.to_string()];
            if flood {
                cells.extend([
                    cell(|x| x.ok_rps, 0),
                    format!("{:.0}", r.refused_rps),
                    format!("{:.0}", r.rps),
                ]);
                cells.extend(common);
            } else {
                cells.push(cell(|x| x.rps, 0));
                cells.extend(common);
                cells.push(r.rounds.to_string());
            }
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
    }
    Ok(())
}

/// The scenario the floor is computed for: distinct RS256 tokens, where every target runs.
const FLOOR_SCENARIO: &str = "distinct";

/// The least CPU per request any gateway can spend in this run, against what each spent: the
/// relay's CPU (socket work alone) plus, for a gateway that verifies every request, one RS256
/// signature check (`verify_us`, the median of the run's `verify-cost` measurements).
fn floor_table(out: &mut String, rows: &[Row], verify_us: f64) -> anyhow::Result<()> {
    let mut conns: Vec<u32> = rows
        .iter()
        .filter(|r| r.scenario == FLOOR_SCENARIO && r.target == "relay")
        .map(|r| r.conns)
        .collect();
    conns.sort_unstable();
    conns.dedup();
    if conns.is_empty() || !verify_us.is_finite() {
        return Ok(());
    }
    writeln!(
        out,
        "\n### The floor ({FLOOR_SCENARIO})\n\n\
         The least CPU a gateway can spend per request on this machine during this run. \
         `relay` copies bytes between the client and the upstream with no HTTP handling: the \
         socket work every proxy here does at least. A gateway that verifies every request adds \
         at least one RS256 signature check: aws-lc alone, thread CPU time, median of the \
         run's measurements, **{verify_us:.1} µs**. In parentheses: CPU above that floor \
         (the relay's, plus the check for the targets that verify every request).\n"
    )?;
    writeln!(
        out,
        "| conns | relay | relay + one check | nginx (no auth) | gatehouse (cache on) | gatehouse-nocache | haproxy |"
    )?;
    writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|")?;
    for c in conns {
        let cpu = |target: &str| {
            rows.iter()
                .find(|r| r.scenario == FLOOR_SCENARIO && r.conns == c && r.target == target)
                .map(|r| r.cpu_per_req)
        };
        let Some(relay) = cpu("relay") else { continue };
        let verified = relay + verify_us;
        let above = |target: &str, floor: f64| {
            cpu(target).map_or_else(|| "—".to_owned(), |v| format!("{v:.1} ({:+.1})", v - floor))
        };
        writeln!(
            out,
            "| {c} | {relay:.1} | {verified:.1} | {} | {} | {} | {} |",
            above("nginx", relay),
            above("gatehouse", relay),
            above("gatehouse-nocache", verified),
            above("haproxy", verified),
        )?;
    }
    Ok(())
}

fn idle_table(out: &mut String, text: &str) -> anyhow::Result<()> {
    writeln!(out, "\n### idle keep-alive connections\n")?;
    writeln!(
        out,
        "| target | connections | established | RSS before MB | RSS after MB | KB per connection |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        anyhow::ensure!(f.len() == 5, "idle row: expected 5 fields: {line:?}");
        let conns: f64 = f[1].parse()?;
        let before: f64 = f[2].parse()?;
        let after: f64 = f[3].parse()?;
        writeln!(
            out,
            "| {} | {conns:.0} | {} | {:.1} | {:.1} | {:.1} |",
            f[0],
            f[4],
            before / 1024.0,
            after / 1024.0,
            (after - before) / conns.max(1.0)
        )?;
    }
    Ok(())
}

/// Options of `report`.
#[derive(clap::Args)]
pub struct Args {
    /// Raw load measurements (TSV).
    #[arg(long)]
    raw: PathBuf,
    /// Raw idle-connection measurements (TSV), if measured.
    #[arg(long)]
    idle: Option<PathBuf>,
    /// Markdown written before the tables (machine, versions, command).
    #[arg(long)]
    header: PathBuf,
    /// Microseconds of one RS256 signature check, one measurement a line (`verify-cost`).
    #[arg(long)]
    verify: Option<PathBuf>,
}

/// Prints the Markdown report to stdout.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let (raw, idle, header) = (
        args.raw.as_path(),
        args.idle.as_deref(),
        args.header.as_path(),
    );
    let read =
        |p: &Path| fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()));
    let samples: Vec<Sample> = read(raw)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| parse(l).with_context(|| format!("{}:{}", raw.display(), i + 1)))
        .collect::<anyhow::Result<_>>()?;
    let mut out = read(header)?;
    writeln!(
        out,
        "\n## Results\n\nMedians over rounds; peak RSS is the largest of the rounds; errors are summed. \
         In parentheses: the ratio to HAProxy at the same connection count and thread count \
         (for req/s higher is better, for everything else lower is better). \
         Cache hits: gatehouse's verified-token cache, from its `/metrics`. \
         Idle connections: RSS growth of the target, restarted fresh after the load scenarios; \
         established: the connections the target held open at that moment (`ss`)."
    )?;
    let rows = rows(&samples);
    load_tables(&mut out, &rows)?;
    if let Some(verify) = args.verify.as_deref() {
        let measured = read(verify)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.trim()
                    .parse::<f64>()
                    .with_context(|| format!("{}: {l:?}", verify.display()))
            })
            .collect::<anyhow::Result<Vec<f64>>>()?;
        floor_table(&mut out, &rows, median(measured))?;
    }
    if let Some(idle) = idle {
        idle_table(&mut out, &read(idle)?)?;
    }
    print!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(target: &str, round: u32, requests: u32, cpu_us: u32, hits: &str) -> String {
        format!(
            "single\t32\t{target}\t{round}\t{requests}\t1000000\t500\t2000\t{cpu_us}\t20480\t0\t0\t0\t0\t0\t{hits}"
        )
    }

    #[test]
    fn medians_over_rounds_and_ratios_against_haproxy() -> anyhow::Result<()> {
        let samples = [
            line("haproxy", 1, 10_000, 400_000, "-"),
            line("haproxy", 2, 20_000, 800_000, "-"),
            line("gatehouse", 1, 30_000, 600_000, "100"),
            line("gatehouse", 2, 10_000, 200_000, "90"),
        ]
        .iter()
        .map(|l| parse(l))
        .collect::<anyhow::Result<Vec<_>>>()?;
        let rows = rows(&samples);
        assert_eq!(rows.len(), 2);
        assert!((rows[0].rps - 15_000.0).abs() < 1e-6);
        assert!((rows[1].cpu_per_req - 20.0).abs() < 1e-6);
        assert_eq!(rows[0].cache_hit_pct, None);
        assert_eq!(rows[1].cache_hit_pct, Some(95.0));
        let mut out = String::new();
        load_tables(&mut out, &rows)?;
        assert!(out.contains("| gatehouse | 32 | 20000 (1.33×) |"), "{out}");
        assert!(out.contains("| 20.0 (0.50×) |"), "{out}");
        Ok(())
    }

    #[test]
    fn the_floor_is_the_relay_plus_one_check() -> anyhow::Result<()> {
        let distinct = |target: &str, cpu_us: u32| {
            parse(&line(target, 1, 1000, cpu_us, "-").replacen("single", "distinct", 1))
        };
        let samples = [
            distinct("relay", 15_000)?,
            distinct("nginx", 20_000)?,
            distinct("haproxy", 60_000)?,
            distinct("gatehouse-nocache", 40_000)?,
        ];
        let rows = rows(&samples);
        let mut out = String::new();
        floor_table(&mut out, &rows, 18.0)?;
        assert!(
            out.contains("| 32 | 15.0 | 33.0 | 20.0 (+5.0) | — | 40.0 (+7.0) | 60.0 (+27.0) |"),
            "{out}"
        );
        // No relay measured, or no check: no floor to show.
        let mut none = String::new();
        floor_table(&mut none, &rows[1..], 18.0)?;
        floor_table(&mut none, &rows, f64::NAN)?;
        assert!(none.is_empty(), "{none}");
        Ok(())
    }

    #[test]
    fn malformed_rows_are_refused() {
        assert!(parse("single\t32\tgatehouse").is_err());
        assert!(parse(&line("haproxy", 1, 1, 1, "-").replace("1000000", "x")).is_err());
    }
}
