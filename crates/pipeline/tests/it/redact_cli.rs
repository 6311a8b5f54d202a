//! `pipeline redact` end to end: output format, offsets, exit codes, no partial output.

use std::path::PathBuf;
use std::process::Command;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pipeline-redact-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pipeline")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn redacts_jsonl_with_input_byte_offsets() {
    let d = dir("ok");
    let input = d.join("in.jsonl");
    let output = d.join("out.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"id": "a", "lang": "fr", "text": "Élodie: NAS 130 692 544, tél. (514) 555-0147, RO 845221"}"#,
            "\n\n",
            r#"{"id": "b", "lang": "en", "text": "nothing here, stock U24117", "extra": 1}"#,
            "\n"
        ),
    )
    .unwrap();
    let (code, err) = run(&["redact".as_ref(), "--input".as_ref(), input.as_os_str(), "--output".as_ref(), output.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "a");
    // "Élodie" is a listed given name since issue 22 (it was left in the text before).
    assert_eq!(lines[0]["redacted"], "[NAME]: NAS [SIN], tél. [PHONE], RO 845221");
    let src = "Élodie: NAS 130 692 544, tél. (514) 555-0147, RO 845221";
    let spans = lines[0]["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 3);
    let at = |s: &serde_json::Value| {
        (usize::try_from(s["byte_start"].as_u64().unwrap()).unwrap(), usize::try_from(s["byte_end"].as_u64().unwrap()).unwrap())
    };
    // UTF-8 byte offsets: "Élodie" is 7 bytes.
    assert_eq!(at(&spans[0]), (0, 7));
    assert_eq!(spans[0]["type"], "NAME");
    let (a, b) = at(&spans[1]);
    assert_eq!(&src[a..b], "130 692 544");
    assert_eq!(spans[1]["type"], "SIN");
    assert_eq!(spans[2]["type"], "PHONE");
    assert_eq!(lines[1]["redacted"], "nothing here, stock U24117");
    assert_eq!(lines[1]["spans"], serde_json::json!([]));
    assert!(!d.join("out.jsonl.partial").exists());
}

#[test]
fn bad_data_exits_1_with_line_number_and_no_output() {
    let d = dir("bad");
    let input = d.join("in.jsonl");
    let output = d.join("out.jsonl");
    for (content, needle) in [
        (b"{\"id\":\"a\",\"lang\":\"en\",\"text\":\"x\"}\n{\"id\":\"b\",\"lang\":\"de\",\"text\":\"x\"}\n".to_vec(), "line 2"),
        (b"{\"id\":\"a\",\"lang\":\"en\"}\n".to_vec(), "line 1"),
        (b"{\"id\":\"a\",\"lang\":\"en\",\"text\":\"x\"}\nnot json\n".to_vec(), "line 2"),
        (b"{\"id\":\"a\",\"lang\":\"en\",\"text\":\"\xff\"}\n".to_vec(), "line 1"),
    ] {
        std::fs::write(&input, content).unwrap();
        let (code, err) = run(&["redact".as_ref(), "--input".as_ref(), input.as_os_str(), "--output".as_ref(), output.as_os_str()]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!output.exists());
        assert!(!d.join("out.jsonl.partial").exists());
    }
}

#[test]
fn unreadable_files_and_bad_args_exit_2() {
    let d = dir("io");
    let output = d.join("out.jsonl");
    let (code, _) =
        run(&["redact".as_ref(), "--input".as_ref(), d.join("missing.jsonl").as_os_str(), "--output".as_ref(), output.as_os_str()]);
    assert_eq!(code, 2);
    let input = d.join("in.jsonl");
    std::fs::write(&input, "").unwrap();
    let (code, _) =
        run(&["redact".as_ref(), "--input".as_ref(), input.as_os_str(), "--output".as_ref(), d.join("no/such/dir/out.jsonl").as_os_str()]);
    assert_eq!(code, 2);
    let (code, _) = run(&["redact".as_ref(), "--input".as_ref(), input.as_os_str()]);
    assert_eq!(code, 2);
    let out = Command::new(env!("CARGO_BIN_EXE_pipeline")).args(["redact", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit codes"));
}
