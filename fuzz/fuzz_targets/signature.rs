#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wsus_airgap_fuzz::signature(data);
});
