//! Any text as models/manifest.json: a manifest or a clear error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    neurotex::fuzzing::manifest_parse(data);
});
