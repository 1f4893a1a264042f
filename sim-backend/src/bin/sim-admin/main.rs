//! `sim-admin`: set up and inspect a simulated database (tests, the demo, benchmarks).
//!
//! - `sim-admin seed <sim_dir> <seed_dir>`: create the tables and rows of a seed folder.
//! - `sim-admin dump <sim_dir> <OWNER> <TABLE>`: print every row as a JSON array.
//! - `sim-admin sessions <sim_dir>`: every MODULE/ACTION/CLIENT_IDENTIFIER a session
//!   set (the simulated V$SESSION history), one JSON object per line.
//! - `sim-admin generate <sim_dir> --rows N`: an ORDERS table like the benchmark
//!   stream of `bench/gen_orders.py` (12 columns), for the tap benchmark; with
//!   `--shape wide` a 200-column table, with `--shape clob` one with a 1 MB CLOB a row
//!   (`shapes`).
//!
//! - `sim-admin hold <sim_dir> <OWNER> <TABLE> <COLUMN> --rows N [--commit]`: insert
//!   N rows (COLUMN = 1..N) in one session, commit only with `--commit`, print `ready`
//!   and wait to be killed: how the tests show that a killed writer's uncommitted rows
//!   vanish and its committed rows stay.
//!
//! - `sim-admin redo <sim_dir> ...`: what a DBA does to the redo: `archivelog on|off`,
//!   `supplemental-log minimal|all|none`, `supplemental-log table <OWNER> <TABLE>`,
//!   `log-size <BYTES>`, `switch`, `purge --through-sequence <N>`, `logs` (one JSON
//!   line per log), `transactions` (open XIDs), `commit <XID>`, `rollback <XID>`.
//!
//! A developer tool, not a Singer binary: its stdout is its output.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDateTime};
use db_boundary::{Backend, TableName, Value};
use sim_backend::{seed, SimBackend};

mod shapes;
use singer_core::dictionary::{ColumnRow, ConstraintRow, DictionaryRows, TableRow};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["seed", sim, dir] => seed_command(Path::new(sim), Path::new(dir)),
        ["dump", sim, owner, table] => dump(Path::new(sim), owner, table),
        ["sessions", sim] => sessions(Path::new(sim)),
        ["generate", sim, "--rows", n, shape @ ..] => match (n.parse(), shape) {
            (Ok(n), [] | ["--shape", "orders"]) => generate(Path::new(sim), n),
            (Ok(n), ["--shape", shape]) => shapes::generate(Path::new(sim), shape, n),
            (Err(_), _) => Err("--rows takes a whole number".to_owned()),
            (Ok(_), _) => Err("generate takes --shape orders|wide|clob".to_owned()),
        },
        ["hold", sim, owner, table, column, "--rows", n, rest @ ..]
            if rest.is_empty() || rest == ["--commit"] =>
        {
            match n.parse() {
                Ok(n) => hold(Path::new(sim), owner, table, column, n, !rest.is_empty()),
                Err(_) => Err("--rows takes a whole number".to_owned()),
            }
        }
        ["redo", sim, rest @ ..] => redo(Path::new(sim), rest),
        ["--help"] | ["-h"] | ["help"] => help(),
        _ => Err(format!(
            "unknown command (sim-admin --help lists them)\n{USAGE}"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            report(&format!("sim-admin: {message}"));
            ExitCode::from(1)
        }
    }
}

const USAGE: &str = "\
sim-admin: set up and inspect a simulated database (driver `sim`; a model of Oracle's rules, not Oracle)

usage:
  sim-admin seed <sim_dir> <seed_dir>        create the tables and rows of a seed folder
                                             (the bundled sample: tests/sample)
  sim-admin dump <sim_dir> <OWNER> <TABLE>   print every row as a JSON array
  sim-admin sessions <sim_dir>               every MODULE/ACTION/CLIENT_IDENTIFIER a
                                             session set (the simulated V$SESSION)
  sim-admin generate <sim_dir> --rows N [--shape orders|wide|clob]
                                             an ORDERS table of N rows (the tap benchmark's),
                                             or BENCH.WIDE (200 columns) or BENCH.DOCS (a
                                             1 MB CLOB a row)
  sim-admin hold <sim_dir> <OWNER> <TABLE> <COLUMN> --rows N [--commit]
                                             insert N rows in one session, commit only with
                                             --commit, print `ready` and wait to be killed
  sim-admin redo <sim_dir> <command>         what a DBA does to the redo (LOG_BASED):
      archivelog on|off, supplemental-log minimal|all|none,
      supplemental-log table <OWNER> <TABLE>, log-size <BYTES>, switch,
      purge --through-sequence <N>, logs, transactions, commit <XID>, rollback <XID>
  sim-admin --help                           this text";

/// `--help`: the usage on stdout, exit 0.
fn help() -> Result<(), String> {
    #[allow(clippy::disallowed_methods)] // this tool's output is its text
    let stdout = std::io::stdout();
    writeln!(stdout.lock(), "{USAGE}").map_err(|e| e.to_string())
}

#[allow(clippy::print_stderr)]
fn report(message: &str) {
    eprintln!("{message}");
}

fn redo(sim: &Path, command: &[&str]) -> Result<(), String> {
    let backend = SimBackend::open(sim).map_err(|e| e.to_string())?;
    let e = |e: db_boundary::DbError| e.to_string();
    #[allow(clippy::disallowed_methods)] // this tool's output is its answer
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match command {
        ["archivelog", "on"] => backend.set_archivelog(true).map_err(e),
        ["archivelog", "off"] => backend.set_archivelog(false).map_err(e),
        ["supplemental-log", "minimal"] => backend.set_supplemental_logging(true, false).map_err(e),
        ["supplemental-log", "all"] => backend.set_supplemental_logging(true, true).map_err(e),
        ["supplemental-log", "none"] => backend.set_supplemental_logging(false, false).map_err(e),
        ["supplemental-log", "table", owner, table] => {
            backend.add_table_supplemental_logging(owner, table).map_err(e)
        }
        ["log-size", bytes] => {
            let bytes = bytes.parse().map_err(|_| "log-size takes a whole number".to_owned())?;
            backend.set_log_bytes(bytes).map_err(e)
        }
        ["switch"] => {
            let sequence = backend.switch_logfile().map_err(e)?;
            writeln!(out, "current sequence {sequence}").map_err(|e| e.to_string())
        }
        ["purge", "--through-sequence", n] => {
            let n = n.parse().map_err(|_| "--through-sequence takes a whole number".to_owned())?;
            let purged = backend.purge_archived_logs(n).map_err(e)?;
            writeln!(out, "purged {purged} archived logs").map_err(|e| e.to_string())
        }
        ["logs"] => {
            for log in backend.redo_logs().map_err(e)? {
                let line = serde_json::json!({
                    "thread": log.thread, "sequence": log.sequence, "first_scn": log.first_scn,
                    "next_scn": log.next_scn, "name": log.name, "bytes": log.bytes,
                    "kind": format!("{:?}", log.kind), "available": log.available,
                });
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        ["transactions"] => {
            for xid in backend.open_transactions().map_err(e)? {
                writeln!(out, "{xid}").map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        ["commit", xid] => {
            let scn = backend.resume_transaction(xid).and_then(|t| t.commit()).map_err(e)?;
            writeln!(out, "committed at SCN {scn}").map_err(|e| e.to_string())
        }
        ["rollback", xid] => backend
            .resume_transaction(xid)
            .and_then(|t| t.rollback())
            .map_err(e),
        _ => Err("usage: sim-admin redo <sim_dir> archivelog on|off | supplemental-log minimal|all|none | \
                  supplemental-log table <OWNER> <TABLE> | log-size <BYTES> | switch | \
                  purge --through-sequence <N> | logs | transactions | commit <XID> | rollback <XID>"
            .to_owned()),
    }
}

fn seed_command(sim: &Path, dir: &Path) -> Result<(), String> {
    let backend = SimBackend::open(sim).map_err(|e| e.to_string())?;
    for (table, rows) in seed::seed_dir(&backend, dir).map_err(|e| e.to_string())? {
        report(&format!("seeded {table}: {rows} rows"));
    }
    Ok(())
}

fn dump(sim: &Path, owner: &str, table: &str) -> Result<(), String> {
    let backend = SimBackend::open(sim).map_err(|e| e.to_string())?;
    let rows = backend.read_rows(owner, table).map_err(|e| e.to_string())?;
    #[allow(clippy::disallowed_methods)] // this tool's output is the rows
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for row in rows {
        let items: Vec<serde_json::Value> = row.iter().map(seed::value_to_json).collect();
        writeln!(out, "{}", serde_json::Value::Array(items)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn sessions(sim: &Path) -> Result<(), String> {
    let recorded = sim_backend::recorded_contexts(sim).map_err(|e| e.to_string())?;
    #[allow(clippy::disallowed_methods)] // this tool's output is the sessions
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for context in recorded {
        let line = serde_json::to_string(&context).map_err(|e| e.to_string())?;
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn hold(
    sim: &Path,
    owner: &str,
    table: &str,
    column: &str,
    rows: u64,
    commit: bool,
) -> Result<(), String> {
    let backend = SimBackend::open(sim).map_err(|e| e.to_string())?;
    let mut sink = backend.sink().map_err(|e| e.to_string())?;
    let name = TableName {
        schema: Some(owner.to_owned()),
        name: table.to_owned(),
    };
    let batch: Vec<Vec<Value>> = (1..=rows).map(|i| vec![Value::Number(i.into())]).collect();
    let columns = db_boundary::column_defs(sink.as_mut(), &name, &[column.to_owned()])
        .map_err(|e| e.to_string())?;
    sink.insert_rows(&name, &columns, &batch)
        .map_err(|e| e.to_string())?;
    if commit {
        sink.commit().map_err(|e| e.to_string())?;
    }
    #[allow(clippy::disallowed_methods)] // this tool's output is its progress
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "ready").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    // Keep the session (and any open transaction) until the process is killed.
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// A small deterministic generator (xorshift), so every run writes the same table.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn column(
    id: u32,
    name: &str,
    data_type: &str,
    precision: Option<u32>,
    scale: Option<i32>,
    length: u32,
    nullable: bool,
) -> ColumnRow {
    table_column(
        "ORDERS",
        id,
        name,
        data_type,
        (precision, scale, length),
        nullable,
    )
}

/// A `BENCH.<table>` column as ALL_TAB_COLS describes it (precision, scale, length).
fn table_column(
    table: &str,
    id: u32,
    name: &str,
    data_type: &str,
    (precision, scale, length): (Option<u32>, Option<i32>, u32),
    nullable: bool,
) -> ColumnRow {
    ColumnRow {
        owner: "BENCH".into(),
        table_name: table.into(),
        column_id: Some(id),
        column_name: name.into(),
        data_type: data_type.into(),
        data_type_owner: None,
        data_length: Some(length),
        data_precision: precision,
        data_scale: scale,
        char_length: Some(if data_type.contains("CHAR") {
            length
        } else {
            0
        }),
        char_used: data_type.contains("CHAR").then(|| "B".to_owned()),
        nullable: if nullable { "Y" } else { "N" }.into(),
        virtual_column: Some("NO".into()),
        hidden_column: Some("NO".into()),
        identity_column: Some("NO".into()),
    }
}

/// Generates `BENCH.ORDERS` with `rows` deterministic rows (the benchmarks' table).
fn generate(sim: &Path, rows: u64) -> Result<(), String> {
    let backend = SimBackend::open(sim).map_err(|e| e.to_string())?;
    let dictionary = orders_dictionary(rows);
    let names: Vec<String> = dictionary
        .columns
        .iter()
        .map(|c| c.column_name.clone())
        .collect();
    backend
        .load_dictionary(&dictionary)
        .map_err(|e| e.to_string())?;
    let epoch: NaiveDateTime = DateTime::from_timestamp(1_420_070_400, 0)
        .expect("2015")
        .naive_utc();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let generated = (1..=rows).map(move |id| order_row(&mut rng, epoch, id));
    let n = backend
        .load_rows("BENCH", "ORDERS", &names, generated)
        .map_err(|e| e.to_string())?;
    report(&format!("generated BENCH.ORDERS: {n} rows"));
    Ok(())
}

/// The dictionary rows of `BENCH.ORDERS`: twelve columns, a primary key on ORDER_ID.
fn orders_dictionary(rows: u64) -> DictionaryRows {
    DictionaryRows {
        tables: vec![TableRow {
            owner: "BENCH".into(),
            table_name: "ORDERS".into(),
            table_type: "TABLE".into(),
            iot_type: None,
            partitioned: Some("NO".into()),
            temporary: Some("N".into()),
            num_rows: Some(rows),
        }],
        columns: vec![
            column(1, "ORDER_ID", "NUMBER", Some(10), Some(0), 22, false),
            column(2, "CUSTOMER_ID", "NUMBER", Some(10), Some(0), 22, true),
            column(3, "AMOUNT", "NUMBER", Some(12), Some(2), 22, true),
            column(4, "CURRENCY", "CHAR", None, None, 3, true),
            column(5, "STATUS", "VARCHAR2", None, None, 20, true),
            column(6, "CUSTOMER_NAME", "VARCHAR2", None, None, 100, true),
            column(7, "SHIP_ADDRESS", "VARCHAR2", None, None, 400, true),
            column(8, "NOTES", "VARCHAR2", None, None, 4000, true),
            column(9, "ORDER_DATE", "DATE", None, None, 7, true),
            column(10, "UPDATED_AT", "TIMESTAMP(6)", None, Some(6), 11, true),
            column(11, "IS_PRIORITY", "NUMBER", Some(1), Some(0), 22, true),
            column(12, "DISCOUNT_RATE", "NUMBER", Some(5), Some(4), 22, true),
        ],
        constraints: vec![ConstraintRow {
            owner: "BENCH".into(),
            table_name: "ORDERS".into(),
            constraint_name: "ORDERS_PK".into(),
            constraint_type: "P".into(),
            column_name: "ORDER_ID".into(),
            position: 1,
            status: Some("ENABLED".into()),
        }],
    }
}

// Names, places and words with quotes and non-ASCII letters, so the benchmarks encode
// what real data holds.
const FIRST_NAMES: [&str; 10] = [
    "Anna", "Bruno", "Chen", "Dmitri", "Élodie", "Fatima", "Günter", "Hiro", "Søren", "Zoë",
];
const LAST_NAMES: [&str; 8] = [
    "Smith",
    "Müller",
    "García",
    "O'Brien",
    "Nguyen",
    "Ахмедов",
    "李",
    "Dubois",
];
const CITIES: [&str; 7] = [
    "London",
    "Paris",
    "São Paulo",
    "Zürich",
    "Tokyo",
    "Kraków",
    "Montréal",
];
const WORDS: [&str; 9] = [
    "please", "deliver", "before", "noon", "fragile", "\"rush\"", "gift", "wrap", "invoice",
];
const STATUSES: [&str; 7] = [
    "NEW",
    "PAID",
    "SHIPPED",
    "DELIVERED",
    "CANCELLED",
    "RETURNED",
    "ON_HOLD",
];
const CURRENCIES: [&str; 6] = ["USD", "EUR", "GBP", "JPY", "CHF", "BRL"];

/// Order `id`'s row, drawn from `rng`.
fn order_row(rng: &mut Rng, epoch: NaiveDateTime, id: u64) -> Vec<Value> {
    let order_date = epoch + chrono::Duration::seconds(rng.below(10 * 365 * 86_400) as i64);
    let updated = order_date
        + chrono::Duration::days(rng.below(30) as i64)
        + chrono::Duration::microseconds(rng.below(86_400_000_000) as i64);
    let notes = if rng.below(10) < 7 {
        Value::Null
    } else {
        let n = 3 + rng.below(27);
        Value::Text(
            (0..n)
                .map(|_| rng.pick(&WORDS))
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    let cents = 100 + rng.below(4_999_900);
    vec![
        Value::Number(id.into()),
        Value::Number((1 + rng.below(1_999_999)).into()),
        Value::number(&format!("{}.{:02}", cents / 100, cents % 100)),
        Value::Text(rng.pick(&CURRENCIES).to_owned()),
        Value::Text(rng.pick(&STATUSES).to_owned()),
        Value::Text(format!(
            "{} {}",
            rng.pick(&FIRST_NAMES),
            rng.pick(&LAST_NAMES)
        )),
        Value::Text(format!(
            "{} Main Street, Apt {}, {} {}",
            1 + rng.below(998),
            1 + rng.below(299),
            rng.pick(&CITIES),
            10_000 + rng.below(89_999)
        )),
        notes,
        Value::Date(order_date),
        Value::Timestamp(updated),
        Value::Number(rng.below(2).into()),
        Value::number(&format!("0.{:04}", rng.below(3000))),
    ]
}
