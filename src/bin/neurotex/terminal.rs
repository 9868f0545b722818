//! What the command line says on stderr, and how: progress bars on a terminal (indicatif:
//! width-aware, one line per scale and pass, an overall bar for `--count`), plain periodic lines
//! when stderr is a file or a pipe, nothing but errors with `--quiet`, every iteration with -v.
//! Stdout is kept for results (paths, `--json`, an image with `-o -`).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use neurotex::{Event, Size};

/// How much to say: `--quiet` (errors only), the default, or `-v` (every iteration, and the
/// set-up in detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// Stderr, shared by every message and progress display of one command.
#[derive(Clone)]
pub struct Terminal {
    pub verbosity: Verbosity,
    /// Progress bars: only on a terminal, and never with `--quiet`.
    bars: Option<MultiProgress>,
}

impl Terminal {
    pub fn new(verbosity: Verbosity) -> Terminal {
        let bars = (verbosity > Verbosity::Quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Terminal { verbosity, bars }
    }

    /// A line of what is going on (not with `--quiet`). Printed above any progress bars.
    pub fn say(&self, line: &str) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        match &self.bars {
            Some(bars) => bars.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// A result line on stdout (a path written), kept clear of the bars on a shared terminal.
    pub fn result(&self, line: &str) {
        match &self.bars {
            Some(bars) => bars.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }

    /// A line only `-v` shows.
    pub fn detail(&self, line: &str) {
        if self.verbosity == Verbosity::Verbose {
            self.say(line);
        }
    }

    pub fn notices(&self, notices: &[String]) {
        for notice in notices {
            self.say(&format!("notice: {notice}"));
        }
    }

    /// An overall bar over the textures of a `--count` batch (None: one texture, or no bars).
    pub fn batch_bar(&self, count: usize) -> Option<ProgressBar> {
        let bars = self.bars.as_ref().filter(|_| count > 1)?;
        let bar = bars.add(ProgressBar::new(count as u64));
        bar.set_style(
            ProgressStyle::with_template("textures {pos}/{len} [{bar:20}] {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(500));
        Some(bar)
    }

    /// The progress display of one synthesis, whose scales have `sizes`.
    pub fn progress(&self, sizes: Vec<Size>) -> impl FnMut(Event) + 'static {
        let mut display = Progress {
            terminal: self.clone(),
            sizes,
            bar: None,
            stage: None,
            finished_line: String::new(),
        };
        move |event| display.show(event)
    }
}

/// Shows a run's iterations: one bar per scale and pass on a terminal, lines otherwise.
struct Progress {
    terminal: Terminal,
    sizes: Vec<Size>,
    bar: Option<ProgressBar>,
    /// The scale and pass the current bar shows.
    stage: Option<(usize, Option<String>)>,
    /// What stays on screen when the current bar is done.
    finished_line: String,
}

impl Progress {
    fn scale_label(&self, k: usize) -> String {
        if self.sizes.len() > 1 {
            format!("scale {}/{} {}", k + 1, self.sizes.len(), self.sizes[k])
        } else {
            self.sizes[k].to_string()
        }
    }

    /// `128x128 (2/3)`: the bar's prefix.
    fn short_scale_label(&self, k: usize) -> String {
        if self.sizes.len() > 1 {
            format!("{} ({}/{})", self.sizes[k], k + 1, self.sizes.len())
        } else {
            self.sizes[k].to_string()
        }
    }

    fn show(&mut self, event: Event) {
        if self.terminal.verbosity == Verbosity::Quiet {
            return;
        }
        let p = match event {
            Event::Iteration(p) => p,
            Event::Upsampling {
                to_scale,
                from,
                method,
                ..
            } => {
                self.finish_bar();
                let line = format!(
                    "{}: carrying the {from} result up ({} upsampling)",
                    self.scale_label(to_scale),
                    method.name()
                );
                return self.terminal.say(&line);
            }
        };
        match self.terminal.bars.clone() {
            Some(bars) => self.draw_bar(&bars, p),
            None => self.log_line(p),
        }
    }

    /// Into a file or a pipe: every 10th iteration and the first (each one with -v).
    fn log_line(&self, p: &neurotex::optimizer::Progress) {
        let verbose = self.terminal.verbosity == Verbosity::Verbose;
        if !(verbose || p.iteration.is_multiple_of(10) || p.iteration == 1) {
            return;
        }
        // A pass's loss leaves the deepest layers out: say so next to it.
        let pass = p
            .pass
            .as_ref()
            .map_or(String::new(), |end| format!(" layers up to {end}"));
        eprintln!(
            "{}{pass} | iter {:>4}/{} | loss {:.4e} (best {:.4e}) | {} evals | {:.2} s/iter | elapsed {} | ETA {}",
            self.scale_label(p.scale),
            p.iteration,
            p.max_iterations,
            p.loss,
            p.best_loss,
            p.evaluations,
            p.seconds_per_iteration,
            clock(p.elapsed),
            p.eta.map_or_else(|| "--".to_string(), clock)
        );
    }

    /// On a terminal: one bar per scale and pass.
    fn draw_bar(&mut self, bars: &MultiProgress, p: &neurotex::optimizer::Progress) {
        let stage = (p.scale, p.pass.clone());
        if self.stage.as_ref() != Some(&stage) {
            self.finish_bar();
            let bar = bars.add(ProgressBar::new(p.max_iterations as u64));
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{wide_bar}] {pos}/{len} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            // Short enough for an 80-column terminal with a bar of 15 or more.
            let pass = p
                .pass
                .as_ref()
                .map_or(String::new(), |end| format!(" ≤{end}"));
            bar.set_prefix(format!("{}{pass}", self.short_scale_label(p.scale)));
            self.bar = Some(bar);
            self.stage = Some(stage);
        }
        let Some(bar) = &self.bar else {
            return;
        };
        self.finished_line = format!(
            "{} {}/{} iterations | loss {:.3e} | {:.2} s/it | {}",
            bar.prefix(),
            p.iteration,
            p.max_iterations,
            p.best_loss,
            p.seconds_per_iteration,
            clock(p.elapsed)
        );
        bar.set_position(p.iteration as u64);
        bar.set_message(format!(
            "loss {:.2e} {:.2} s/it ETA {}",
            p.best_loss,
            p.seconds_per_iteration,
            p.eta.map_or_else(|| "--".to_string(), clock)
        ));
    }

    /// Replace the finished bar by one line above the live ones: the record of its scale or
    /// pass (a `--count` batch's area of live bars stays two lines high).
    fn finish_bar(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            self.terminal.say(&std::mem::take(&mut self.finished_line));
        }
        self.stage = None;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish_bar();
    }
}

pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
