//! The scenario format, file by file: what loads, and every message for what does not.

use faultproxy::{Stream, ToxicKind};
use loadgen::persona::Persona;

use super::*;

const FILE: &str = "scenarios/x.toml";

/// A valid scenario with one fault of each kind; tests change one line of it.
const VALID: &str = r#"name = "all-kinds"
description = "one of each"
quiesce = "20s"

[target]
mode = "local"

[stack]
lock_strategy = "setnx"
booking_timeout = "30s"
payment_success_rate = 0.7
payment_latency = "50ms"
lock_ttl = "90s"
sweep_interval = "250ms"

[data]
seats = 3000
users = 50

[load]
rate = "100/s"
duration = "30s"
scenarios = "book=8,hot-seat=1,cancel=1"
inflight = 400
strategy = "random"
seats_per_booking = "1..2"
hot_seats = 10
confirm_timeout = "20s"

[[faults]]
at = "2s"
for = "5s"
target = "redis"
action = "latency"
attributes = { latency = 200, jitter = 50 }
stream = "upstream"
toxicity = 0.5

[[faults]]
at = "10s"
for = "5s"
target = "booking-service"
action = "kill"

[[faults]]
at = "20s"
target = "broker"
action = "restart"

[thresholds]
rules = ["unknown=0", "ttc-p99<10s", "p95<500ms"]

[invariants]
check = ["double_booking", "liveness"]
"#;

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse(text, FILE)
}

/// `VALID` with `old` replaced by `new` (which must be there).
fn edit(old: &str, new: &str) -> String {
    assert!(VALID.contains(old), "{old:?} not in VALID");
    VALID.replacen(old, new, 1)
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in text"));
    line_of(text, at)
}

/// Asserts `text` is refused with exactly one problem, on `line`, about `field`, and that
/// the message holds every needle.
#[track_caller]
fn assert_refused(text: &str, line: usize, field: &str, needles: &[&str]) {
    let err = parse(text).expect_err("refused");
    let shown = err.to_string();
    assert_eq!(err.problems().len(), 1, "{shown}");
    let prefix = format!("{FILE}:{line}: {field}: ");
    assert!(
        shown.starts_with(&prefix),
        "expected prefix {prefix:?}, got {shown:?}"
    );
    for needle in needles {
        assert!(shown.contains(needle), "{needle:?} not in {shown:?}");
    }
}

#[test]
fn a_valid_scenario_parses_into_typed_settings() {
    let s = parse(VALID).unwrap();
    assert_eq!(s.name, "all-kinds");
    assert_eq!(s.path, PathBuf::from(FILE));
    assert_eq!(s.quiesce, Duration::from_secs(20));
    assert_eq!(s.target.mode, TargetMode::Local);
    assert_eq!(s.target.proxies, ProxyNames::default());
    assert_eq!(
        s.stack,
        StackSettings {
            lock_strategy: LockStrategy::Setnx,
            booking_timeout: Duration::from_secs(30),
            payment_success_rate: 0.7,
            payment_latency: Duration::from_millis(50),
            lock_ttl: Duration::from_secs(90),
            sweep_interval: Duration::from_millis(250),
            bug_variant: None,
        }
    );
    assert_eq!(
        s.data,
        DataSettings {
            seats: 3000,
            users: 50
        }
    );
    assert_eq!(s.load_length(), Duration::from_secs(30));
    assert_eq!(
        s.load.personas,
        vec![
            (Persona::Book, 8),
            (Persona::HotSeat, 1),
            (Persona::Cancel, 1)
        ]
    );
    assert_eq!(s.load.inflight, 400);
    assert_eq!(s.load.seats_per_booking, (1, 2));
    assert_eq!(s.faults.len(), 3);

    let redis = &s.faults[0];
    assert_eq!(
        (redis.at, redis.heals_at()),
        (Duration::from_secs(2), Duration::from_secs(7))
    );
    assert_eq!(redis.target, FaultTarget::Redis);
    assert_eq!(
        redis.action,
        FaultAction::Toxic(ToxicKind::Latency(faultproxy::Latency {
            latency: 200,
            jitter: 50
        }))
    );
    assert_eq!((redis.stream, redis.toxicity), (Stream::Upstream, 0.5));
    let toxic = redis.toxic().unwrap();
    assert_eq!(
        (toxic.name.as_str(), toxic.stream, toxic.toxicity),
        ("fault-0", Stream::Upstream, 0.5)
    );
    assert_eq!(
        redis.to_string(),
        r#"faults[0]: redis latency {"jitter":50,"latency":200} upstream toxicity 0.5 at 2s for 5s"#
    );

    let kill = &s.faults[1];
    assert_eq!(
        (kill.target, &kill.action),
        (FaultTarget::BookingService, &FaultAction::Kill)
    );
    assert!(kill.toxic().is_none());
    let restart = &s.faults[2];
    assert_eq!(
        (restart.action.name(), restart.length),
        ("restart", Duration::ZERO)
    );

    assert_eq!(s.thresholds, ["unknown=0", "ttc-p99<10s", "p95<500ms"]);
    assert_eq!(
        s.invariants,
        [Invariant::DoubleBooking, Invariant::Liveness]
    );
}

#[test]
fn defaults_fill_what_a_minimal_scenario_leaves_out() {
    let s = parse("name = \"m\"\n[target]\nmode = \"local\"\n[load]\nrate = \"10/s for 5s\"\n")
        .unwrap();
    assert_eq!(s.quiesce, Duration::from_secs(30));
    assert_eq!(s.description, "");
    assert_eq!(s.stack, StackSettings::default());
    assert_eq!(s.data, DataSettings::default());
    assert_eq!(s.load.duration, None);
    assert_eq!(s.load_length(), Duration::from_secs(5));
    assert_eq!(s.load.personas, vec![(Persona::Book, 1)]);
    assert_eq!(
        (s.load.inflight, s.load.strategy.as_str(), s.load.hot_seats),
        (500, "random", 10)
    );
    assert!(s.faults.is_empty() && s.thresholds.is_empty());
    assert_eq!(s.invariants, Invariant::ALL);
}

#[test]
fn the_load_plan_carries_the_load_and_thresholds() {
    let s = parse(VALID).unwrap();
    let plan = s
        .load_plan("http://gw", PathBuf::from("data.json"))
        .unwrap();
    assert_eq!(plan.host, "http://gw");
    assert_eq!(
        plan.data,
        loadgen::run::DataSource::Prepared(PathBuf::from("data.json"))
    );
    assert_eq!(plan.shape, Some(s.load.shape.clone()));
    assert_eq!(plan.load_length, Duration::from_secs(30));
    assert_eq!(
        plan.weights,
        vec![
            (Persona::Book, 8),
            (Persona::HotSeat, 1),
            (Persona::Cancel, 1)
        ]
    );
    assert_eq!(plan.inflight, 400);
    assert_eq!(plan.ops.seats_per_booking, (1, 2));
    assert_eq!(plan.ops.hot_seats, 10);
    assert_eq!(plan.ops.confirm_timeout, Duration::from_secs(20));
    assert_eq!(plan.closed_users, 0);
    let saga: Vec<String> = plan
        .saga_rules
        .iter()
        .map(|r| r.rule().to_string())
        .collect();
    assert_eq!(saga, ["unknown=0", "ttc-p99<10s"]);
    assert_eq!(plan.goose_rules, ["p95<500ms"]);
    plan.check().unwrap();
}

#[test]
fn the_load_plan_equals_what_loadgen_makes_of_the_same_flags() {
    let s = parse(VALID).unwrap();
    let mut plan = s.load_plan("http://gw", PathBuf::from("d.json")).unwrap();
    let words = [
        "--host",
        "http://gw",
        "--data",
        "d.json",
        "--rate",
        "100/s",
        "--duration",
        "30s",
        "--scenarios",
        "book=8,hot-seat=1,cancel=1",
        "--inflight",
        "400",
        "--confirm-timeout",
        "20s",
        "--threshold",
        "unknown=0",
        "--threshold",
        "ttc-p99<10s",
        "--threshold",
        "p95<500ms",
    ];
    let args = loadgen::cli::RunArgs::from_words(words).unwrap();
    let from_cli = LoadPlan::from_args(&args).unwrap();
    plan.ops.seed = from_cli.ops.seed;
    assert_eq!(plan, from_cli);
}

#[test]
fn a_stretched_scenario_scales_the_load_window_faults_and_seats() {
    let s = parse(VALID).unwrap();
    let long = s.stretched(10);
    assert_eq!(long.load_length(), Duration::from_secs(300));
    assert_eq!(long.load.rate, "100/s for 300000ms");
    assert_eq!(
        (long.faults[0].at, long.faults[0].heals_at()),
        (Duration::from_secs(20), Duration::from_secs(70))
    );
    assert_eq!(long.faults[2].at, Duration::from_secs(200));
    assert_eq!(long.data.seats, 30_000);
    assert_eq!(long.thresholds, s.thresholds);
    let plan = long
        .load_plan("http://gw", PathBuf::from("d.json"))
        .unwrap();
    assert_eq!(plan.load_length, Duration::from_secs(300));
    assert_eq!(s.stretched(1), s);
}

#[test]
fn a_scenario_can_be_aimed_at_a_running_stack_unless_it_needs_the_local_one() {
    let proxy_only = "name = \"p\"\n[target]\nmode = \"local\"\n[load]\nrate = \"1/s\"\nduration = \"10s\"\n\
                      [[faults]]\nat = \"1s\"\nfor = \"2s\"\ntarget = \"redis\"\naction = \"down\"\n";
    let s = parse(proxy_only).unwrap();
    let dbs = DatabaseUrls::on_server("postgres://u:p@db:5432");
    let aimed = s
        .aimed_at(
            "http://gateway:3000/",
            Some("http://toxiproxy:8474".into()),
            Some(dbs.clone()),
        )
        .unwrap();
    assert_eq!(
        aimed.target.mode,
        TargetMode::Url("http://gateway:3000".into())
    );
    assert_eq!(
        aimed.target.toxiproxy.as_deref(),
        Some("http://toxiproxy:8474")
    );
    assert_eq!(
        aimed.target.databases.unwrap().bookings,
        "postgres://u:p@db:5432/ticketflow_bookings"
    );
    assert!(s
        .aimed_at("http://gateway:3000", None, None)
        .unwrap_err()
        .contains("--toxiproxy"));
    assert!(s
        .aimed_at("gateway:3000", None, None)
        .unwrap_err()
        .contains("not an http(s) URL"));
    let err = parse(VALID)
        .unwrap()
        .aimed_at("http://g:3000", Some("http://t:8474".into()), None)
        .unwrap_err();
    assert!(
        err.contains("faults[1]") && err.contains("booking-service"),
        "{err}"
    );
}

#[test]
fn fault_rules_are_the_runners_and_do_not_reach_loadgen() {
    let text = VALID.replace(
        "[thresholds]\nrules = [",
        "[thresholds]\nrules = [\"fault-in-flight>=200\", ",
    );
    assert_ne!(text, VALID, "the fixture has a rules list");
    let s = parse(&text).unwrap();
    assert_eq!(
        s.fault_rules,
        vec![crate::exposure::FaultRule::parse("fault-in-flight>=200").unwrap()]
    );
    let plan = s.load_plan("http://gw", PathBuf::from("d.json")).unwrap();
    assert!(!plan
        .saga_rules
        .iter()
        .map(|r| r.rule())
        .chain(plan.goose_rules.iter().map(String::as_str))
        .any(|rule| rule.starts_with("fault-")));
    let bad = VALID.replace(
        "[thresholds]\nrules = [",
        "[thresholds]\nrules = [\"fault-in-flight>200\", ",
    );
    let err = parse(&bad).unwrap_err().to_string();
    assert!(
        err.contains("thresholds.rules[0]") && err.contains("fault-in-flight takes >="),
        "{err}"
    );
}

#[test]
fn stack_settings_become_the_services_environment() {
    let s = parse(VALID).unwrap();
    assert_eq!(
        s.stack.env(),
        vec![
            ("LOCK_STRATEGY", "setnx".to_string()),
            ("BOOKING_TIMEOUT_MS", "30000".to_string()),
            ("PAYMENT_SUCCESS_RATE", "0.7".to_string()),
            ("PAYMENT_LATENCY_MS", "50".to_string()),
            ("LOCK_TTL_MS", "90000".to_string()),
            ("SWEEP_INTERVAL_MS", "250".to_string()),
            // Always set: an empty value keeps the caller's BUG_VARIANT out of the stack.
            ("BUG_VARIANT", String::new()),
        ]
    );
}

#[test]
fn a_url_target_takes_its_url_toxiproxy_databases_and_proxy_names() {
    let text = r#"name = "remote"
[target]
mode = "url"
url = "http://10.0.0.5:3000"
toxiproxy = "http://10.0.0.5:8474"
[target.databases]
bookings = "postgres://postgres@10.0.0.5:5432/ticketflow_bookings"
inventory = "postgres://postgres@10.0.0.5:5432/ticketflow_inventory"
[target.proxies]
redis = "ticketflow-redis"
[load]
rate = "50/s"
duration = "20s"
[[faults]]
at = "5s"
for = "5s"
target = "redis"
action = "down"
"#;
    let s = parse(text).unwrap();
    assert_eq!(
        s.target.mode,
        TargetMode::Url("http://10.0.0.5:3000".into())
    );
    assert_eq!(s.target.toxiproxy.as_deref(), Some("http://10.0.0.5:8474"));
    let db = s.target.databases.unwrap();
    assert!(db.bookings.ends_with("ticketflow_bookings") && db.payments.is_none());
    assert_eq!(
        s.target.proxies.get(FaultTarget::Redis),
        Some("ticketflow-redis")
    );
    assert_eq!(s.target.proxies.get(FaultTarget::Kafka), Some("kafka"));
    assert_eq!(s.target.proxies.get(FaultTarget::Gateway), None);
    assert_eq!(s.faults[0].action, FaultAction::Down);
}

#[test]
fn durations_need_a_unit() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    for bad in ["10", "", "soon", "-1s", "10 parsecs", "1.5"] {
        let err = parse_duration(bad).unwrap_err();
        assert!(
            err.contains("is not a duration (use 10s, 500ms, 2m)"),
            "{bad}: {err}"
        );
    }
    assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    assert_eq!(format_duration(Duration::from_secs(120)), "2m");
    assert_eq!(format_duration(Duration::from_secs(15)), "15s");
}

#[test]
fn a_syntax_error_names_file_and_line() {
    let text = edit("users = 50\n", "users = 50\nseats = = 3\n");
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{FILE}:{}: ", line(&text, "seats = = 3"))),
        "{err}"
    );
}

#[test]
fn an_unknown_key_is_named_with_its_table() {
    let text = edit("users = 50\n", "users = 50\ncolour = \"red\"\n");
    assert_refused(
        &text,
        line(&text, "colour"),
        "data.colour",
        &["unknown key `colour`", "`seats`"],
    );
    let text = edit(
        "quiesce = \"20s\"\n",
        "quiesce = \"20s\"\nquiesse = \"1s\"\n",
    );
    assert_refused(
        &text,
        line(&text, "quiesse"),
        "quiesse",
        &["unknown key `quiesse`"],
    );
}

#[test]
fn an_unknown_key_in_a_fault_names_the_fault() {
    let text = edit("action = \"kill\"\n", "action = \"kill\"\nsignal = 9\n");
    assert_refused(
        &text,
        line(&text, "signal"),
        "faults[1].signal",
        &["unknown key `signal`"],
    );
}

#[test]
fn an_unknown_table_is_refused() {
    let text = format!("{VALID}\n[extras]\nx = 1\n");
    assert_refused(
        &text,
        line(&text, "[extras]"),
        "extras",
        &["unknown key `extras`"],
    );
    let text = edit(
        "[target]\nmode = \"local\"\n",
        "[target]\nmode = \"local\"\n[target.secrets]\nx = 1\n",
    );
    assert_refused(
        &text,
        line(&text, "[target.secrets]"),
        "target.secrets",
        &["unknown key `secrets`"],
    );
}

#[test]
fn a_missing_required_key_is_named() {
    let text = VALID.replacen("name = \"all-kinds\"\n", "", 1);
    assert_refused(&text, 1, "name", &["missing (required)"]);
    let text = edit("[target]\nmode = \"local\"\n", "[target]\n");
    assert_refused(
        &text,
        line(&text, "[target]"),
        "target.mode",
        &["missing (required)"],
    );
    let text = edit("rate = \"100/s\"\n", "");
    assert_refused(
        &text,
        line(&text, "[load]"),
        "load.rate",
        &["missing (required)"],
    );
    let text = edit("target = \"redis\"\n", "");
    assert_refused(
        &text,
        line(&text, "[[faults]]"),
        "faults[0].target",
        &["missing (required)"],
    );
}

#[test]
fn a_wrong_type_names_the_field() {
    let text = edit("seats = 3000", "seats = \"many\"");
    assert_refused(
        &text,
        line(&text, "\"many\""),
        "data.seats",
        &["invalid type"],
    );
    let text = edit("at = \"10s\"", "at = 10");
    assert_refused(
        &text,
        line(&text, "at = 10"),
        "faults[1].at",
        &["expected a string"],
    );
}

#[test]
fn a_bad_duration_names_fault_and_key() {
    let text = edit(
        "for = \"5s\"\ntarget = \"booking-service\"",
        "for = \"soon\"\ntarget = \"booking-service\"",
    );
    assert_refused(
        &text,
        line(&text, "\"soon\""),
        "faults[1].for",
        &["\"soon\" is not a duration (use 10s, 500ms, 2m)"],
    );
    let text = edit("quiesce = \"20s\"", "quiesce = \"20\"");
    assert_refused(
        &text,
        line(&text, "quiesce"),
        "quiesce",
        &["\"20\" is not a duration"],
    );
    let text = edit("booking_timeout = \"30s\"", "booking_timeout = \"0s\"");
    assert_refused(
        &text,
        line(&text, "booking_timeout"),
        "stack.booking_timeout",
        &["longer than 0s"],
    );
}

#[test]
fn a_bad_rate_is_refused_with_loadgens_reason() {
    let text = edit("rate = \"100/s\"", "rate = \"fast\"");
    assert_refused(
        &text,
        line(&text, "\"fast\""),
        "load.rate",
        &["bad rate \"fast\"", "needs a unit"],
    );
    let text = edit("rate = \"100/s\"", "rate = \"100/fortnight\"");
    assert_refused(
        &text,
        line(&text, "fortnight"),
        "load.rate",
        &["unknown rate unit"],
    );
}

#[test]
fn a_rate_and_its_duration_must_agree() {
    let text = edit("duration = \"30s\"\n", "");
    assert_refused(
        &text,
        line(&text, "rate = \"100/s\""),
        "load.rate",
        &["without `for`", "load.duration"],
    );
    let text = edit(
        "rate = \"100/s\"",
        "rate = \"100/s for 10s, 200/s for 20s\"",
    );
    assert_refused(
        &text,
        line(&text, "duration ="),
        "load.duration",
        &["unused"],
    );
    let text = edit(
        "rate = \"100/s\"\nduration = \"30s\"",
        "rate = \"50/s for 10s, 100/s..200/s for 20s\"",
    );
    assert_eq!(parse(&text).unwrap().load_length(), Duration::from_secs(30));
}

#[test]
fn an_unknown_persona_is_refused() {
    let text = edit("book=8,hot-seat=1,cancel=1", "book=8,scalper=1");
    assert_refused(
        &text,
        line(&text, "scalper"),
        "load.scenarios",
        &["unknown scenario \"scalper\""],
    );
    let text = edit("book=8,hot-seat=1,cancel=1", "browse=1");
    assert_refused(
        &text,
        line(&text, "browse=1"),
        "load.scenarios",
        &["include book, hot-seat or cancel"],
    );
}

#[test]
fn bad_load_knobs_are_refused() {
    let text = edit("strategy = \"random\"", "strategy = \"cheapest\"");
    assert_refused(
        &text,
        line(&text, "cheapest"),
        "load.strategy",
        &["bad seat strategy"],
    );
    let text = edit(
        "seats_per_booking = \"1..2\"",
        "seats_per_booking = \"3..1\"",
    );
    assert_refused(
        &text,
        line(&text, "3..1"),
        "load.seats_per_booking",
        &["MIN..MAX"],
    );
    let text = edit("inflight = 400", "inflight = 0");
    assert_refused(
        &text,
        line(&text, "inflight"),
        "load.inflight",
        &["at least 1"],
    );
    let text = edit("hot_seats = 10", "hot_seats = 5000");
    assert_refused(
        &text,
        line(&text, "hot_seats"),
        "load.hot_seats",
        &["more than the event's 3000 seats"],
    );
    let text = edit("users = 50", "users = 0");
    assert_refused(&text, line(&text, "users"), "data.users", &["at least 1"]);
    let text = edit("confirm_timeout = \"20s\"", "confirm_timeout = \"0s\"");
    assert_refused(
        &text,
        line(&text, "confirm_timeout"),
        "load.confirm_timeout",
        &["longer than 0s"],
    );
    let text = edit("confirm_timeout = \"20s\"", "confirm_timeout = \"soon\"");
    assert_refused(
        &text,
        line(&text, "confirm_timeout"),
        "load.confirm_timeout",
        &["not a duration"],
    );
}

#[test]
fn an_unknown_fault_target_is_refused() {
    let text = edit("target = \"booking-service\"", "target = \"mysql\"");
    assert_refused(
        &text,
        line(&text, "mysql"),
        "faults[1].target",
        &["\"mysql\" is not a fault target", "`redis`"],
    );
}

#[test]
fn an_action_must_fit_its_target_kind() {
    let text = edit(
        "target = \"redis\"\naction = \"latency\"",
        "target = \"redis\"\naction = \"kill\"",
    );
    assert_refused(
        &text,
        line(&text, "\"kill\""),
        "faults[0].action",
        &["\"kill\" is not an action for redis", "down"],
    );
    let text = edit("action = \"kill\"", "action = \"latency\"");
    assert_refused(
        &text,
        line(&text, "target = \"booking-service\"") + 1,
        "faults[1].action",
        &[
            "\"latency\" is not an action for booking-service",
            "kill, pause or restart",
        ],
    );
    let text = edit(
        "target = \"broker\"\naction = \"restart\"",
        "for = \"5s\"\ntarget = \"broker\"\naction = \"latency\"",
    );
    assert_refused(
        &text,
        line(&text, "target = \"broker\"") + 1,
        "faults[2].action",
        &["the broker process", "kill, pause or restart"],
    );
}

#[test]
fn toxic_attributes_are_checked_by_name_and_type() {
    let text = edit("latency = 200, jitter = 50", "latency = 200, jiter = 50");
    assert_refused(
        &text,
        line(&text, "jiter"),
        "faults[0].attributes",
        &["unknown attribute `jiter` for latency", "`jitter`"],
    );
    let text = edit("latency = 200, jitter = 50", "latency = -200");
    assert_refused(
        &text,
        line(&text, "-200"),
        "faults[0].attributes",
        &["bad latency attributes"],
    );
    let text = edit("latency = 200, jitter = 50", "latency = \"200ms\"");
    assert_refused(
        &text,
        line(&text, "200ms"),
        "faults[0].attributes",
        &["bad latency attributes", "invalid type"],
    );
    let text = edit(
        "action = \"latency\"\nattributes = { latency = 200, jitter = 50 }",
        "action = \"slicer\"\nattributes = { size_variation = 5 }",
    );
    assert_refused(
        &text,
        line(&text, "size_variation"),
        "faults[0].attributes",
        &["average_size"],
    );
}

#[test]
fn non_toxics_take_no_attributes_stream_or_toxicity() {
    let text = edit(
        "action = \"kill\"\n",
        "action = \"kill\"\nattributes = { signal = 9 }\n",
    );
    assert_refused(
        &text,
        line(&text, "signal = 9"),
        "faults[1].attributes",
        &["only toxics take attributes"],
    );
    let text = edit("action = \"kill\"\n", "action = \"kill\"\ntoxicity = 0.5\n");
    assert_refused(
        &text,
        line(&text, "toxicity = 0.5\n\n[[faults]]\nat = \"20s\""),
        "faults[1].toxicity",
        &["only toxics"],
    );
}

#[test]
fn toxicity_and_stream_are_checked() {
    let text = edit("toxicity = 0.5", "toxicity = 1.5");
    assert_refused(
        &text,
        line(&text, "1.5"),
        "faults[0].toxicity",
        &["1.5 is outside 0..=1"],
    );
    let text = edit("stream = \"upstream\"", "stream = \"sideways\"");
    assert_refused(
        &text,
        line(&text, "sideways"),
        "faults[0].stream",
        &["upstream or downstream"],
    );
}

#[test]
fn a_fault_beyond_the_load_window_is_named() {
    let text = edit("at = \"10s\"\nfor = \"5s\"", "at = \"20s\"\nfor = \"15s\"");
    let text = text.replacen(
        "at = \"20s\"\ntarget = \"broker\"",
        "at = \"5s\"\ntarget = \"broker\"",
        1,
    );
    assert_refused(
        &text,
        line(&text, "for = \"15s\""),
        "faults[1].for",
        &[
            "faults[1]: booking-service kill at 20s for 15s heals at 35s",
            "load window ends (30s)",
        ],
    );
    let text = edit(
        "at = \"20s\"\ntarget = \"broker\"",
        "at = \"30s\"\ntarget = \"broker\"",
    );
    assert_refused(
        &text,
        line(&text, "at = \"30s\""),
        "faults[2].at",
        &["faults[2]: broker restart", "end of the load window"],
    );
}

#[test]
fn overlapping_faults_on_one_target_are_refused() {
    let text = edit(
        "at = \"10s\"\nfor = \"5s\"\ntarget = \"booking-service\"",
        "at = \"6s\"\nfor = \"5s\"\ntarget = \"redis\"\nattributes = { latency = 10 }",
    )
    .replacen("action = \"kill\"", "action = \"latency\"", 1);
    assert_refused(
        &text,
        line(&text, "at = \"6s\""),
        "faults[1]",
        &[
            "faults[1]: redis latency",
            "overlaps faults[0]: redis latency",
        ],
    );
    // A restart inside a kill window of the same service.
    let text = edit(
        "at = \"20s\"\ntarget = \"broker\"",
        "at = \"12s\"\ntarget = \"booking-service\"",
    );
    assert_refused(
        &text,
        line(&text, "at = \"12s\""),
        "faults[2]",
        &["overlaps faults[1]"],
    );
    // Back to back is fine.
    let text = edit(
        "at = \"20s\"\ntarget = \"broker\"",
        "at = \"15s\"\ntarget = \"booking-service\"",
    );
    assert!(parse(&text).is_ok());
}

#[test]
fn a_fault_needs_a_length_unless_it_is_a_restart() {
    let text = edit(
        "for = \"5s\"\ntarget = \"booking-service\"",
        "target = \"booking-service\"",
    );
    assert_refused(
        &text,
        line(&text, "at = \"10s\"") - 1,
        "faults[1].for",
        &["missing"],
    );
    let text = edit(
        "for = \"5s\"\ntarget = \"booking-service\"",
        "for = \"0s\"\ntarget = \"booking-service\"",
    );
    assert_refused(
        &text,
        line(&text, "\"0s\""),
        "faults[1].for",
        &["longer than 0s"],
    );
}

#[test]
fn a_bug_variant_is_named_by_the_services_name_and_an_unknown_one_is_refused() {
    let text = edit(
        "payment_latency = \"50ms\"",
        "payment_latency = \"50ms\"\nbug_variant = \"no-refund\"",
    );
    // The test build has the variants (chaos's dev-dependencies turn them on).
    assert_eq!(
        parse(&text).unwrap().stack.bug_variant,
        Some(kit::bug_variants::BugVariant::NoRefund)
    );
    let text = edit(
        "payment_latency = \"50ms\"",
        "payment_latency = \"50ms\"\nbug_variant = \"no-locks\"",
    );
    assert_refused(
        &text,
        line(&text, "no-locks"),
        "stack.bug_variant",
        &["unknown bug variant", "no-sweeper"],
    );
    let text = edit("lock_ttl = \"90s\"", "lock_ttl = \"0s\"");
    assert_refused(
        &text,
        line(&text, "lock_ttl"),
        "stack.lock_ttl",
        &["longer than 0s"],
    );
}

#[test]
fn an_unknown_or_repeated_invariant_is_refused() {
    let text = edit(
        "\"double_booking\", \"liveness\"",
        "\"double_booking\", \"fairness\"",
    );
    assert_refused(
        &text,
        line(&text, "fairness"),
        "invariants.check[1]",
        &["unknown invariant \"fairness\"", "double_booking"],
    );
    let text = edit(
        "\"double_booking\", \"liveness\"",
        "\"liveness\", \"liveness\"",
    );
    assert_refused(
        &text,
        line(&text, "\"liveness\", \"liveness\""),
        "invariants.check[1]",
        &["twice"],
    );
}

#[test]
fn bad_thresholds_are_refused_with_the_parsers_reason() {
    let text = edit("\"ttc-p99<10s\"", "\"ttc-p99<soon\"");
    assert_refused(
        &text,
        line(&text, "soon"),
        "thresholds.rules[1]",
        &["bad threshold \"ttc-p99<soon\""],
    );
    let text = edit("\"p95<500ms\"", "\"latency<500ms\"");
    assert_refused(
        &text,
        line(&text, "latency<500ms"),
        "thresholds.rules[2]",
        &["\"latency\" is not a metric"],
    );
}

#[test]
fn a_url_target_needs_a_url_and_takes_no_stack() {
    let text = edit("mode = \"local\"", "mode = \"url\"");
    let err = parse(&text).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains(&format!(
            "{FILE}:{}: target.url: missing",
            line(&text, "mode = \"url\"")
        )),
        "{shown}"
    );
    let text = edit(
        "mode = \"local\"",
        "mode = \"url\"\nurl = \"http://127.0.0.1:3000\"\ntoxiproxy = \"http://127.0.0.1:8474\"",
    );
    let err = parse(&text).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("{FILE}:{}: stack: ", line(&text, "[stack]"))),
        "{shown}"
    );
    // The process faults cannot be done on a remote stack either.
    assert!(
        shown.contains(&format!(
            "{FILE}:{}: faults[1].target: ",
            line(&text, "\"booking-service\"")
        )),
        "{shown}"
    );
    assert!(shown.contains("faults[2].target"), "{shown}");
    assert_eq!(err.problems().len(), 3, "{shown}");
}

#[test]
fn a_local_target_takes_no_url_and_modes_are_checked() {
    let text = edit(
        "mode = \"local\"",
        "mode = \"local\"\nurl = \"http://127.0.0.1:3000\"",
    );
    assert_refused(
        &text,
        line(&text, "url ="),
        "target.url",
        &["only with mode = \"url\""],
    );
    let text = edit("mode = \"local\"", "mode = \"cloud\"");
    assert_refused(
        &text,
        line(&text, "cloud"),
        "target.mode",
        &["\"cloud\" is not a mode"],
    );
    let text = edit(
        "mode = \"local\"",
        "mode = \"local\"\ntoxiproxy = \"localhost:8474\"",
    );
    assert_refused(
        &text,
        line(&text, "toxiproxy"),
        "target.toxiproxy",
        &["not an http(s) URL"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = edit("seats = 3000", "seats = 0")
        .replacen("strategy = \"random\"", "strategy = \"cheapest\"", 1)
        .replacen("toxicity = 0.5", "toxicity = 2.0", 1);
    let err = parse(&text).unwrap_err();
    let fields: Vec<_> = err
        .problems()
        .iter()
        .map(|p| p.field.clone().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["data.seats", "load.strategy", "faults[0].toxicity"],
        "{err}"
    );
    assert_eq!(err.to_string().lines().count(), 3);
}

#[test]
fn timing_problems_show_even_when_the_action_is_wrong() {
    let text = edit(
        "for = \"5s\"\ntarget = \"booking-service\"\naction = \"kill\"",
        "for = \"soon\"\ntarget = \"booking-service\"\naction = \"latency\"",
    );
    let err = parse(&text).unwrap_err();
    let fields: Vec<_> = err
        .problems()
        .iter()
        .map(|p| p.field.clone().unwrap())
        .collect();
    assert_eq!(fields, ["faults[1].for", "faults[1].action"], "{err}");
}

#[test]
fn an_unreadable_file_is_named() {
    let err = Scenario::load("/nonexistent/x.toml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/x.toml: cannot read"),
        "{err}"
    );
}

#[test]
fn every_file_in_scenarios_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "smoke",
        "flash-sale",
        "redis-latency",
        "redis-down",
        "kafka-broker-stall",
        "kafka-broker-restart",
        "postgres-latency",
        "kill-inventory",
        "kill-booking",
        "payment-flaky",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "scenarios/{expected}.toml is missing"
        );
    }
    for file in &files {
        let s = Scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
        let stem = file.file_stem().unwrap().to_string_lossy();
        assert_eq!(
            s.name,
            stem,
            "{}: name should be the file name",
            file.display()
        );
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.starts_with('#'),
            "{}: start with a comment saying what it shows",
            file.display()
        );
        assert!(
            !s.description.is_empty(),
            "{}: needs a description",
            file.display()
        );
        // CI-sized: at most a minute of load, at least 2000 booking operations, and the
        // runner checks both (attempted>=2000; fault-in-flight>=200 where there is a fault).
        let window = s.load_length();
        assert!(
            (Duration::from_secs(30)..=Duration::from_secs(60)).contains(&window),
            "{}: load window {window:?}",
            file.display()
        );
        let arrivals = s.load.shape.expected_by(window);
        assert!(
            arrivals >= 2000.0,
            "{}: {arrivals} arrivals",
            file.display()
        );
        assert!(
            s.thresholds.iter().any(|r| r.starts_with("attempted>=")),
            "{}: attempted>=2000 rule",
            file.display()
        );
        if !s.faults.is_empty() {
            assert!(
                !s.fault_rules.is_empty(),
                "{}: fault-in-flight>=200 rule",
                file.display()
            );
        }
        for fault in &s.faults {
            if fault.action != FaultAction::Restart {
                assert!(
                    (Duration::from_secs(10)..=Duration::from_secs(15)).contains(&fault.length),
                    "{fault}"
                );
            }
        }
    }
}

/// Hostile files: whatever the text, `parse` answers a scenario or problems that each name the
/// file and a line of it, on one line each; it never panics.
mod hostile {
    use proptest::prelude::*;

    use super::*;

    fn assert_answers_cleanly(text: &str) {
        let err = match parse(text) {
            Ok(scenario) => {
                // What `chaos run --stretch` and the runner do with it next must not panic either.
                let _ = scenario
                    .load_plan("http://gw", PathBuf::from("d.json"))
                    .map(|p| p.check());
                let stretched = scenario.clone().stretched(1000);
                let _ = stretched
                    .load_plan("http://gw", PathBuf::from("d.json"))
                    .map(|p| p.check());
                return;
            }
            Err(err) => err,
        };
        let lines = text.lines().count().max(1) + 1;
        assert!(!err.problems().is_empty(), "an error with no problem");
        for problem in err.problems() {
            assert_eq!(problem.file, FILE);
            assert!(
                (1..=lines).contains(&problem.line),
                "line {} outside 1..={lines}: {problem}",
                problem.line
            );
            assert!(!problem.message.trim().is_empty(), "{problem}");
            assert!(!problem.to_string().contains('\n'), "{problem:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn any_text(text in "\\PC{0,300}") {
            assert_answers_cleanly(&text);
        }

        #[test]
        fn a_valid_file_with_one_line_replaced_by_anything(
            at in 0usize..60,
            junk in "\\PC{0,80}|[a-z_]{1,12} = (\"[^\"\\n]{0,20}\"|-?[0-9]{1,20}(\\.[0-9]{0,4})?|\\[\\]|\\{\\})",
        ) {
            let mut lines: Vec<&str> = VALID.lines().collect();
            let at = at % lines.len();
            lines[at] = &junk;
            assert_answers_cleanly(&lines.join("\n"));
        }

        #[test]
        fn durations_rates_and_sizes_at_their_edges(
            duration in "-?[0-9]{0,22}(\\.[0-9]{0,3})?(ms|s|m|h|d|us|)",
            rate in "-?[0-9]{0,22}(\\.[0-9]{0,3})?/(s|m|h|fortnight)|[0-9]{1,3}/s->[0-9]{1,3}/s",
            seats in proptest::num::i64::ANY,
        ) {
            let text = edit("rate = \"100/s\"", &format!("rate = \"{rate}\""))
                .replacen("duration = \"30s\"", &format!("duration = \"{duration}\""), 1)
                .replacen("seats = 3000", &format!("seats = {seats}"), 1);
            assert_answers_cleanly(&text);
        }
    }
}
