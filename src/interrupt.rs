//! Stopping a run from outside: the first SIGINT (Ctrl-C), SIGTERM or SIGHUP asks the run to
//! stop after the current evaluation and write what it has; a second one, a second or more
//! later, quits at once. Which signal came decides the exit status (128 + its number), so that
//! a script can tell an interrupted run from a finished one.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The cancel flag the library watches, and the signal that set it.
#[derive(Clone)]
pub struct Interrupts {
    pub cancel: Arc<AtomicBool>,
    signal: Arc<AtomicI32>,
}

impl Interrupts {
    /// Install the handlers; `first_press` says what the first signal does (printed when
    /// `announce`: not with --quiet).
    pub fn install(first_press: &'static str, announce: bool) -> Interrupts {
        // One signal often arrives twice: `timeout`, `kill 0` and process managers send it to
        // the process and to its whole group. Counting that as "pressed twice" lost the result
        // (seen under `timeout 80 neurotex synth ...`), so repeats within this window are the
        // same press.
        const SAME_PRESS: Duration = Duration::from_secs(1);
        let interrupts = Interrupts {
            cancel: Arc::new(AtomicBool::new(false)),
            signal: Arc::new(AtomicI32::new(0)),
        };
        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return interrupts;
        };
        let seen = interrupts.clone();
        let first = Mutex::new(None::<Instant>);
        std::thread::spawn(move || {
            for signal in signals.forever() {
                let mut first = first.lock().unwrap_or_else(|e| e.into_inner());
                match *first {
                    Some(at) if at.elapsed() >= SAME_PRESS => {
                        eprintln!("\ninterrupted twice: quitting without writing");
                        std::process::exit(128 + signal);
                    }
                    Some(_) => {}
                    None => {
                        *first = Some(Instant::now());
                        seen.signal.store(signal, Ordering::SeqCst);
                        seen.cancel.store(true, Ordering::SeqCst);
                        if announce {
                            eprintln!(
                                "\n{}: {first_press} (Ctrl-C again to quit)",
                                signal_name(signal)
                            );
                        }
                    }
                }
            }
        });
        interrupts
    }

    /// The signal that stopped the run, if one did.
    pub fn signal(&self) -> Option<i32> {
        Some(self.signal.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }

    /// The exit status of a run the signal stopped: 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP).
    pub fn exit_status(&self) -> Option<u8> {
        self.signal().map(|s| (128 + s) as u8)
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "interrupt (SIGINT)",
        SIGTERM => "terminate (SIGTERM)",
        SIGHUP => "hang-up (SIGHUP)",
        _ => "signal",
    }
}
