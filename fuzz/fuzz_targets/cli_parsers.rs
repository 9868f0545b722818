//! Any text as --size, --layers, --layer-weights, --provider, --precision or --solver.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    neurotex::fuzzing::cli_parsers(data);
});
