//! Every input kept in tests/fuzz_regressions/<target>/ (seeds, and anything the fuzzer of
//! scripts/fuzz.sh ever crashed on) goes through the same entry point as the fuzzer: it must
//! return, whatever the input.

mod common;

use common::repo;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = repo().join("tests/fuzz_regressions").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        println!("{target}: {}", path.display());
        run(&data);
        n += 1;
    }
    assert!(n >= 2, "{}: no inputs to replay", dir.display());
}

#[test]
fn image_decode_inputs() {
    replay("image_decode", neurotex::fuzzing::image_decode);
}

#[test]
fn manifest_parse_inputs() {
    replay("manifest_parse", neurotex::fuzzing::manifest_parse);
}

#[test]
fn cli_parser_inputs() {
    replay("cli_parsers", neurotex::fuzzing::cli_parsers);
}
