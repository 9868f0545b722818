//! Any bytes as an exemplar file: an image or a clear error, never a panic or a huge allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    neurotex::fuzzing::image_decode(data);
});
