//! `--report FILE` on `call` and `answer`: each call's report (client::CallReport)
//! written to FILE when the call ends, one after the other.

use std::collections::HashMap;
use std::path::PathBuf;

use banter::client::{call_of, now_ms, CallReport, Event};

use super::CliError;

pub(super) struct Reports {
    path: Option<PathBuf>,
    open: HashMap<String, CallReport>,
    written: usize,
}

impl Reports {
    pub(super) fn new(path: Option<PathBuf>) -> Reports {
        Reports {
            path,
            open: HashMap::new(),
            written: 0,
        }
    }

    /// Takes in an event; a report whose call ended is written.
    pub(super) fn on(&mut self, ev: &Event) -> Result<(), CliError> {
        if self.path.is_none() {
            return Ok(());
        }
        let now = now_ms();
        if let Some(id) = call_of(ev) {
            self.open
                .entry(id.to_string())
                .or_insert_with(|| CallReport::new(id, now));
        }
        for r in self.open.values_mut() {
            r.on(ev, now);
        }
        let done: Vec<String> = self
            .open
            .iter()
            .filter(|(_, r)| r.is_done())
            .map(|(id, _)| id.clone())
            .collect();
        for id in done {
            if let Some(r) = self.open.remove(&id) {
                self.write(&r)?;
            }
        }
        Ok(())
    }

    /// Reports of calls still going when the command stops.
    pub(super) fn finish(&mut self) -> Result<(), CliError> {
        let open: Vec<CallReport> = self.open.drain().map(|(_, r)| r).collect();
        for r in open {
            self.write(&r)?;
        }
        Ok(())
    }

    fn write(&mut self, r: &CallReport) -> Result<(), CliError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut text = r.render();
        let result = if self.written == 0 {
            std::fs::write(path, text)
        } else {
            text.insert(0, '\n');
            use std::io::Write;
            std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
        };
        result.map_err(|e| {
            CliError(format!(
                "cannot write the call report to {}: {e}",
                path.display()
            ))
        })?;
        self.written += 1;
        Ok(())
    }
}
