//! The consumers' aggregates, the gate, the sop/ria builders, and the name-leak gate over every
//! analyzer and consumer (the regression sweep), plus retraction of a leaked claim through
//! `TenantLedger`.

use std::collections::BTreeSet;

use evidence_core::claim::{Claim, ClaimKind};
use evidence_core::{AppendRequest, ClaimSink, ContentHash};
use pipeline::analyze::cli::{Analysis, analyze, parse_roster, plan};
use pipeline::analyze::consumers::{
    self, GateRules, Hierarchy, Participants, RiaRow, RunInfo, SopAttestation, amount, parse_hundredths, score,
};
use pipeline::analyze::retract::sweep_written;
use pipeline::analyze::roster::Roster;
use pipeline::analyze::{Finding, FindingError, finding_body, finding_request};
use pipeline::ingest::{Dms, Export, Options, Profile};
use serde_json::json;

fn fixture(name: &str) -> String {
    format!("{}/testdata/analyze/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn as_of() -> pipeline::ingest::Date {
    pipeline::ingest::value::parse_date("2025-03-25").unwrap()
}

fn roster_entries() -> Vec<pipeline::analyze::cli::RosterEntry> {
    parse_roster(std::fs::File::open(fixture("roster.csv")).unwrap()).unwrap()
}

fn roster() -> Roster {
    Roster::new(&roster_entries().into_iter().map(|e| e.member).collect::<Vec<_>>())
}

fn hierarchy() -> Hierarchy {
    Hierarchy::new(roster_entries().into_iter().filter_map(|e| Some((e.member.code, e.manager_code?))))
}

fn run_fixture(name: &str) -> Analysis {
    let profile = Profile::get(Dms::Quorum, Export::Sales).unwrap();
    let a = analyze(&profile, std::fs::File::open(fixture(name)).unwrap(), &Options::default(), as_of()).unwrap();
    assert!(a.report.accepted, "{:?}", a.report.errors);
    a
}

fn hashed(fs: &[Finding]) -> Vec<(&Finding, ContentHash)> {
    fs.iter().map(|f| (f, Claim::new(ClaimKind::LeakageFinding, finding_body(f, as_of())).unwrap().content_hash().unwrap())).collect()
}

fn run_info() -> RunInfo {
    RunInfo { profile: "quorum".into(), export: "sales".into(), file_sha256: "00".repeat(32), rows: 4 }
}

#[test]
fn roster_csv_parses_and_rejects_bad_headers() {
    let e = roster_entries();
    assert_eq!(e.len(), 6);
    assert_eq!(e[0].member.nicknames, ["JF", "Frankie"]);
    assert_eq!(e[0].manager_code.as_deref(), Some("SM1"));
    assert_eq!(e[5].manager_code, None);
    assert!(parse_roster(std::fs::File::open(fixture("roster_bad.csv")).unwrap()).is_err());
    assert!(parse_roster(&b"code,name,nicknames,manager_code,role\nA1,X Y,,,\nA1,Z W,,,\n"[..]).unwrap_err().contains("duplicate"));
    // The error never echoes a name.
    let err = parse_roster(&b"code,name,nicknames,manager_code,role\nbad code,Jean Tremblay,,,\n"[..]).unwrap_err();
    assert!(!err.contains("Tremblay"), "{err}");
}

#[test]
fn amounts_and_scores_follow_the_documented_tables() {
    assert_eq!(parse_hundredths("-12.5"), Some(-1250));
    assert_eq!(parse_hundredths("3"), Some(300));
    assert_eq!(parse_hundredths("1.239"), Some(123));
    assert_eq!(parse_hundredths("x"), None);
    let a = run_fixture("quorum_sales.csv");
    let got: Vec<(&str, &str, &str, i128, i128)> =
        a.findings.iter().map(|f| (f.rule, f.subject.as_str(), f.staff_code.as_str(), amount(f), score(f))).collect();
    assert_eq!(
        got,
        [
            ("structure.front_loss", "D1", "SP1", 150_000, 2),
            ("structure.negative_back", "D2", "FI1", 2_500, 1),
            ("structure.payment_mismatch", "D2", "FI1", 3_334, 3),
            ("structure.rate_over_cap", "D3", "FI1", 0, 5),
        ]
    );
}

#[test]
fn scorecards_hierarchy_and_affinity_aggregate_the_findings() {
    let a = run_fixture("quorum_sales.csv");
    let hs = hashed(&a.findings);
    let (r, h) = (roster(), hierarchy());

    let cards = consumers::manager_scorecards(&hs, &h, as_of(), &r).unwrap();
    assert_eq!(cards.len(), 2);
    let fm1 = &cards[0].claim.body;
    assert_eq!(fm1["consumer"], "manager_scorecard");
    assert_eq!(fm1["manager_code"], "FM1");
    assert_eq!(fm1["analyzers"]["structure"], json!({"findings": 3, "amount": "58.34"}));
    assert_eq!(fm1["total_findings"], 3);
    assert_eq!(cards[0].links.len(), 3);
    assert_eq!(cards[1].claim.body["manager_code"], "SM1");
    assert_eq!(cards[1].claim.body["total_amount"], "1500.00");
    assert_eq!(cards[1].links, vec![hs[0].1]);

    let hier = consumers::hierarchical_score(&hs, &h, as_of(), &r).unwrap();
    let b = &hier.claim.body;
    assert_eq!(b["consumer"], "hierarchical_score");
    assert_eq!(b["staff"], json!([{"code": "FI1", "manager_code": "FM1", "score": 9}, {"code": "SP1", "manager_code": "SM1", "score": 2}]));
    assert_eq!(b["managers"], json!([{"code": "FM1", "gm_code": "GM1", "score": 9}, {"code": "SM1", "gm_code": "GM1", "score": 2}]));
    assert_eq!(b["gms"], json!([{"code": "GM1", "score": 11}]));
    assert_eq!(b["rooftop_score"], 11);
    assert_eq!(hier.links.len(), 4);

    let aff = consumers::affinity(&hs, &a.participants, 2, as_of(), &r).unwrap();
    // FI1+SP1 share D1 and D2 (both with findings); FI1+SP2 share only D3 (D4 has no finding).
    assert_eq!(aff.claim.body["pairs"], json!([{"a": "FI1", "b": "SP1", "shared_subjects": 2, "findings": 3}]));
    assert_eq!(aff.links.len(), 3);
    let aff1 = consumers::affinity(&hs, &a.participants, 1, as_of(), &r).unwrap();
    assert_eq!(aff1.claim.body["pairs"].as_array().unwrap().len(), 2);
}

#[test]
fn gate_fails_on_an_open_critical_finding_and_passes_without() {
    let a = run_fixture("quorum_sales.csv");
    let hs = hashed(&a.findings);
    let (req, pass) = consumers::gate_decision(&hs, &run_info(), GateRules::default(), as_of(), &roster()).unwrap();
    assert!(!pass);
    assert_eq!(req.claim.kind, ClaimKind::GateDecision);
    assert_eq!(req.claim.body["decision"], "fail");
    assert_eq!(req.claim.body["counts"], json!({"critical": 1, "high": 1, "medium": 2}));
    assert_eq!(req.links.len(), 4);
    let no_critical: Vec<_> = hs.iter().copied().filter(|(f, _)| f.rule != "structure.rate_over_cap").collect();
    let (req, pass) = consumers::gate_decision(&no_critical, &run_info(), GateRules::default(), as_of(), &roster()).unwrap();
    assert!(pass);
    assert_eq!(req.claim.body["decision"], "pass");
    let (_, pass) =
        consumers::gate_decision(&no_critical, &run_info(), GateRules { max_critical: 0, max_high: 0 }, as_of(), &roster()).unwrap();
    assert!(!pass);
}

#[test]
fn sop_and_ria_builders_check_codes_and_names() {
    let r = roster();
    let sop =
        SopAttestation { sop_id: "SOP-FI-7".into(), version: "2.1".into(), attested_by: "FM1".into(), attested_at_ms: 1_700_000_000_000 };
    let req = consumers::sop_attestation(&sop, &r).unwrap();
    assert_eq!(req.claim.kind, ClaimKind::SopAttestation);
    assert_eq!(req.claim.body["attested_by"], "FM1");
    let bad = SopAttestation { attested_by: "Paul Ng".into(), ..sop.clone() };
    assert!(matches!(consumers::sop_attestation(&bad, &r), Err(FindingError::BadField(b)) if b.field == "attested_by"));
    let leak = SopAttestation { sop_id: "tremblay".into(), ..sop };
    assert!(
        matches!(consumers::sop_attestation(&leak, &r), Err(FindingError::NameLeak(l)) if l[0].path == "/sop_id" && l[0].code == "SP1")
    );

    let row = RiaRow {
        submission_id: "S2025Q1".into(),
        row: 1,
        period: "2025-03".into(),
        rooftop_code: "R01".into(),
        staff_code: "FI1".into(),
        rule: "structure.rate_over_cap".into(),
        finding_count: 1,
        amount_cents: 0,
    };
    let req = consumers::ria_submission_row(&row, vec![], &r).unwrap();
    assert_eq!(req.claim.kind, ClaimKind::RiaSubmissionRow);
    assert_eq!(req.claim.body["amount"], "0.00");
    assert!(consumers::ria_submission_row(&RiaRow { period: "2025-13".into(), ..row.clone() }, vec![], &r).is_err());
    assert!(matches!(
        consumers::ria_submission_row(&RiaRow { staff_code: "O-Neil".into(), ..row }, vec![], &r),
        Err(FindingError::NameLeak(l)) if l[0].path == "/staff_code" && l[0].code == "SP2"
    ));
}

/// The regression sweep: a leaking value in each analyzer's findings and in each consumer's
/// input is refused, and the error gives paths and codes, never the name.
#[test]
fn leak_regression_sweep_refuses_every_leaking_claim() {
    let r = roster();
    let h = hierarchy();
    let leaky_staff = "Tremblay";
    let findings: Vec<Finding> = ["cit", "fi", "structure", "service"]
        .into_iter()
        .map(|analyzer| Finding { analyzer, rule: "x.rule", subject: "D9".into(), staff_code: leaky_staff.into(), measures: json!({}) })
        .collect();
    for f in &findings {
        match finding_request(f, as_of(), &r) {
            Err(e @ FindingError::NameLeak(_)) => {
                let msg = e.to_string();
                assert!(msg.contains("/staff_code") && msg.contains("SP1") && !msg.contains(leaky_staff), "{msg}");
            }
            other => panic!("{} finding not refused: {other:?}", f.analyzer),
        }
    }
    let hs = hashed(&findings);
    assert!(matches!(consumers::manager_scorecards(&hs, &h, as_of(), &r), Err(FindingError::NameLeak(_))));
    assert!(matches!(consumers::hierarchical_score(&hs, &h, as_of(), &r), Err(FindingError::NameLeak(_))));
    let mut parts = Participants::new();
    parts.insert("D9".into(), BTreeSet::from(["Jean Tremblay".to_owned(), "FI1".to_owned()]));
    let pair = Finding { staff_code: "FI1".into(), ..findings[0].clone() };
    let pair_hs = hashed(std::slice::from_ref(&pair));
    assert!(matches!(consumers::affinity(&pair_hs, &parts, 1, as_of(), &r), Err(FindingError::NameLeak(_))));
    let leaky_run = RunInfo { export: "sales for frankie".into(), ..run_info() };
    assert!(matches!(consumers::gate_decision(&pair_hs, &leaky_run, GateRules::default(), as_of(), &r), Err(FindingError::NameLeak(_))));

    // End to end over a file whose staff column holds a name: the finding and every consumer
    // that carries the code are refused; nothing would be written.
    let a = run_fixture("quorum_sales_leak.csv");
    let p = plan(&a, &run_info(), &roster_entries(), as_of());
    let refused: Vec<&str> = p.refused.iter().map(|x| x.what.as_str()).collect();
    assert!(refused.contains(&"finding 0 structure.front_loss"), "{refused:?}");
    assert!(refused.contains(&"manager_scorecard"), "{refused:?}");
    assert!(refused.contains(&"hierarchical_score"), "{refused:?}");
    for x in &p.refused {
        assert!(!x.error.to_string().contains(leaky_staff));
    }
    // The clean file plans no refusal.
    assert!(plan(&run_fixture("quorum_sales.csv"), &run_info(), &roster_entries(), as_of()).refused.is_empty());
}

#[test]
fn a_leaked_claim_written_deliberately_is_retracted_through_the_tenant_ledger() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (store, _dir) = test_support::fixtures::sqlite().await;
        let t = test_support::fixtures::ledger(store)
            .create_tenant(&test_support::fixtures::tid("t1"), &ledger::store::TenantConfig::default())
            .await
            .unwrap();
        let leaked = json!({"consumer": "manager_scorecard", "manager_code": "SM1", "note": "ask Zoe Cote"});
        let clean = json!({"consumer": "manager_scorecard", "manager_code": "FM1"});
        let r1 = t.append(AppendRequest::new(Claim::new(ClaimKind::LeakageFinding, leaked.clone()).unwrap())).await.unwrap();
        let r2 = t.append(AppendRequest::new(Claim::new(ClaimKind::LeakageFinding, clean.clone()).unwrap())).await.unwrap();
        let out = sweep_written(&[(r1.seq, leaked), (r2.seq, clean)], &roster(), &t).await;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].seq, r1.seq);
        assert_eq!(out[0].leaks[0].path, "/note");
        assert_eq!(out[0].leaks[0].code, "SM1");
        let receipt = out[0].outcome.as_ref().unwrap();
        assert_eq!(receipt.kind, ClaimKind::Retraction);
        let parts = t.claim_parts(receipt.seq).await.unwrap();
        let body = parts.record.unwrap().1.body;
        assert_eq!(body["seq"], r1.seq.0);
        assert_eq!(body["retracts"], r1.content_hash.to_hex());
        assert_eq!(body["reason"], "staff name leak at /note (staff SM1)");
    });
}
