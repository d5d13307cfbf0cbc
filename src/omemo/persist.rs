//! Our device and sessions as bytes for the store (always sealed by the vault before
//! they reach the disk): a version byte, then fixed-width fields and counted lists.
//! Read back with every length checked, since a damaged file must give an error, not a
//! panic.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::OmemoError;

/// Written now; 1 is still read (our device before signed prekey rotation).
const VERSION: u8 = 2;

#[derive(Default)]
pub(super) struct Writer(Vec<u8>);

impl Writer {
    pub(super) fn new() -> Writer {
        Writer(vec![VERSION])
    }
    pub(super) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(super) fn bytes(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    pub(super) fn done(self) -> Vec<u8> {
        self.0
    }
}

pub(super) struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

fn damaged() -> OmemoError {
    OmemoError::Malformed("stored OMEMO state is damaged")
}

impl<'a> Reader<'a> {
    pub(super) fn new(b: &'a [u8]) -> Result<Reader<'a>, OmemoError> {
        match b.first() {
            Some(1 | 2) => Ok(Reader { b, pos: 1 }),
            _ => Err(damaged()),
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], OmemoError> {
        let end = self.pos.checked_add(n).ok_or_else(damaged)?;
        let s = self.b.get(self.pos..end).ok_or_else(damaged)?;
        self.pos = end;
        Ok(s)
    }
    /// The format version the bytes were written in.
    pub(super) fn version(&self) -> u8 {
        self.b.first().copied().unwrap_or(0)
    }

    /// Whether everything was read (a shorter, older record ends here).
    pub(super) fn at_end(&self) -> bool {
        self.pos == self.b.len()
    }

    pub(super) fn u8(&mut self) -> Result<u8, OmemoError> {
        Ok(*self.take(1)?.first().ok_or_else(damaged)?)
    }
    pub(super) fn u32(&mut self) -> Result<u32, OmemoError> {
        let s: [u8; 4] = self.take(4)?.try_into().map_err(|_| damaged())?;
        Ok(u32::from_be_bytes(s))
    }
    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], OmemoError> {
        self.take(N)?.try_into().map_err(|_| damaged())
    }
    /// Everything was read: trailing bytes mean the format is not what we think.
    pub(super) fn end(self) -> Result<(), OmemoError> {
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(damaged())
        }
    }
}
