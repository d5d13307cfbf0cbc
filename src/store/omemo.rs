//! OMEMO's records: our device (its secrets sealed by omemo::vault, with the wrapped
//! data key beside them), each session (sealed; OMEMO 0.3's and OMEMO 2's apart),
//! and what we know of other devices
//! (their identity keys, our trust in them, whether their list still names them).
//! The store only keeps bytes: nothing here can read a secret.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};
use crate::omemo::keeper::{KeepError, Keeper, KeptOwn, KnownIdentity, Version};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS omemo_own (
  account TEXT PRIMARY KEY,
  device_id INTEGER NOT NULL,
  salt BLOB NOT NULL,
  wrapped BLOB NOT NULL,
  sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS omemo_sessions (
  account TEXT NOT NULL,
  peer TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  PRIMARY KEY (account, peer, device_id)
);
CREATE TABLE IF NOT EXISTS omemo2_sessions (
  account TEXT NOT NULL,
  peer TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  PRIMARY KEY (account, peer, device_id)
);
CREATE TABLE IF NOT EXISTS omemo_devices (
  account TEXT NOT NULL,
  peer TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  identity BLOB,
  trust TEXT NOT NULL,
  active INTEGER NOT NULL,
  v2 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (account, peer, device_id)
);
";

/// Each OMEMO's sessions in a table of their own (a device may speak both).
fn table(v: Version) -> &'static str {
    match v {
        Version::Axolotl => "omemo_sessions",
        Version::Two => "omemo2_sessions",
    }
}

/// Our device as stored (the OMEMO layer's own shape of it).
pub use crate::omemo::keeper::KeptOwn as OmemoOwn;

/// Another device (a contact's, or one of our own account's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OmemoDevice {
    pub device_id: u32,
    /// Its identity key, once a session or bundle showed it.
    pub identity: Option<Vec<u8>>,
    /// `undecided`, `blind` (trusted before verification), `verified`, `untrusted`.
    pub trust: String,
    /// Its owner's OMEMO 0.3 device list names it (a device dropped from it gets no
    /// messages).
    pub active: bool,
    /// Its owner's OMEMO 2 device list names it: messages to it are OMEMO 2.
    pub v2: bool,
}

impl OmemoDevice {
    /// Some list of its owner names it.
    pub fn listed(&self) -> bool {
        self.active || self.v2
    }
}

impl Store {
    pub fn omemo_own(&self, account: &str) -> Result<Option<OmemoOwn>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT device_id, salt, wrapped, sealed FROM omemo_own WHERE account=?1",
                params![account],
                |r| {
                    Ok(OmemoOwn {
                        device_id: r.get(0)?,
                        salt: r.get(1)?,
                        wrapped: r.get(2)?,
                        sealed: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn save_omemo_own(&self, account: &str, own: &OmemoOwn) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO omemo_own(account, device_id, salt, wrapped, sealed) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(account) DO UPDATE SET device_id=excluded.device_id, salt=excluded.salt,
               wrapped=excluded.wrapped, sealed=excluded.sealed",
            params![account, own.device_id, own.salt, own.wrapped, own.sealed],
        )?;
        Ok(())
    }

    /// Our sealed session with `peer`'s device (OMEMO 0.3).
    pub fn omemo_session(
        &self,
        account: &str,
        peer: &str,
        device_id: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.session_in(Version::Axolotl, account, peer, device_id)
    }

    pub fn save_omemo_session(
        &self,
        account: &str,
        peer: &str,
        device_id: u32,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        self.save_session_in(Version::Axolotl, account, peer, device_id, sealed)
    }

    /// Forgets a session (a broken one, before a new one is begun).
    pub fn delete_omemo_session(
        &self,
        account: &str,
        peer: &str,
        device_id: u32,
    ) -> Result<(), StoreError> {
        self.delete_session_in(Version::Axolotl, account, peer, device_id)
    }

    /// Our sealed session with `peer`'s device (OMEMO 2).
    pub fn omemo2_session(
        &self,
        account: &str,
        peer: &str,
        device_id: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.session_in(Version::Two, account, peer, device_id)
    }

    pub fn save_omemo2_session(
        &self,
        account: &str,
        peer: &str,
        device_id: u32,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        self.save_session_in(Version::Two, account, peer, device_id, sealed)
    }

    pub fn delete_omemo2_session(
        &self,
        account: &str,
        peer: &str,
        device_id: u32,
    ) -> Result<(), StoreError> {
        self.delete_session_in(Version::Two, account, peer, device_id)
    }

    fn session_in(
        &self,
        v: Version,
        account: &str,
        peer: &str,
        device_id: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT sealed FROM {} WHERE account=?1 AND peer=?2 AND device_id=?3",
                    table(v)
                ),
                params![account, peer, device_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn save_session_in(
        &self,
        v: Version,
        account: &str,
        peer: &str,
        device_id: u32,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        self.conn.execute(
            &format!(
                "INSERT INTO {}(account, peer, device_id, sealed) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(account, peer, device_id) DO UPDATE SET sealed=excluded.sealed",
                table(v)
            ),
            params![account, peer, device_id, sealed],
        )?;
        Ok(())
    }

    fn delete_session_in(
        &self,
        v: Version,
        account: &str,
        peer: &str,
        device_id: u32,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            &format!(
                "DELETE FROM {} WHERE account=?1 AND peer=?2 AND device_id=?3",
                table(v)
            ),
            params![account, peer, device_id],
        )?;
        Ok(())
    }

    /// What we know of `peer`'s devices, ordered by id.
    pub fn omemo_devices(&self, account: &str, peer: &str) -> Result<Vec<OmemoDevice>, StoreError> {
        let mut q = self.conn.prepare(
            "SELECT device_id, identity, trust, active, v2 FROM omemo_devices
             WHERE account=?1 AND peer=?2 ORDER BY device_id",
        )?;
        let rows = q.query_map(params![account, peer], |r| {
            Ok(OmemoDevice {
                device_id: r.get(0)?,
                identity: r.get(1)?,
                trust: r.get(2)?,
                active: r.get::<_, i64>(3)? != 0,
                v2: r.get::<_, i64>(4)? != 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `peer`'s published device list: the devices it names are active (new ones
    /// `undecided`), the others inactive (kept: their messages may still come).
    pub fn set_omemo_device_list(
        &self,
        account: &str,
        peer: &str,
        ids: &[u32],
    ) -> Result<(), StoreError> {
        self.set_list("active", account, peer, ids)
    }

    /// `peer`'s published OMEMO 2 device list, likewise.
    pub fn set_omemo2_device_list(
        &self,
        account: &str,
        peer: &str,
        ids: &[u32],
    ) -> Result<(), StoreError> {
        self.set_list("v2", account, peer, ids)
    }

    /// `column` (which list names a device) set for `ids`, cleared for the others.
    fn set_list(
        &self,
        column: &str,
        account: &str,
        peer: &str,
        ids: &[u32],
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            &format!("UPDATE omemo_devices SET {column}=0 WHERE account=?1 AND peer=?2"),
            params![account, peer],
        )?;
        let (active, v2) = if column == "v2" { (0, 1) } else { (1, 0) };
        for id in ids {
            tx.execute(
                &format!(
                    "INSERT INTO omemo_devices(account, peer, device_id, identity, trust, active, v2)
                     VALUES (?1, ?2, ?3, NULL, 'undecided', ?4, ?5)
                     ON CONFLICT(account, peer, device_id) DO UPDATE SET {column}=1"
                ),
                params![account, peer, id, active, v2],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Our trust in `peer`'s device whose identity key is `identity`; false when no
    /// device of `peer` has it.
    pub fn set_omemo_trust(
        &self,
        account: &str,
        peer: &str,
        identity: &[u8],
        trust: &str,
    ) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE omemo_devices SET trust=?1 WHERE account=?2 AND peer=?3 AND identity=?4",
            params![trust, account, peer, identity],
        )?;
        Ok(n > 0)
    }

    /// The peers we know OMEMO devices of.
    pub fn omemo_peers(&self, account: &str) -> Result<Vec<String>, StoreError> {
        let mut q = self
            .conn
            .prepare("SELECT DISTINCT peer FROM omemo_devices WHERE account=?1 ORDER BY peer")?;
        let rows = q.query_map(params![account], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A device's identity key and our trust in it.
    pub fn set_omemo_identity(
        &self,
        account: &str,
        peer: &str,
        device_id: u32,
        identity: &[u8],
        trust: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO omemo_devices(account, peer, device_id, identity, trust, active)
             VALUES (?1, ?2, ?3, ?4, ?5, 0)
             ON CONFLICT(account, peer, device_id) DO UPDATE SET identity=excluded.identity,
               trust=excluded.trust",
            params![account, peer, device_id, identity, trust],
        )?;
        Ok(())
    }
}

/// The OMEMO layer keeps its state here, through the client, which hands it the store.
impl Keeper for Store {
    fn own(&self, account: &str) -> Result<Option<KeptOwn>, KeepError> {
        self.omemo_own(account).map_err(kept)
    }
    fn save_own(&self, account: &str, own: &KeptOwn) -> Result<(), KeepError> {
        self.save_omemo_own(account, own).map_err(kept)
    }
    fn session(
        &self,
        v: Version,
        account: &str,
        peer: &str,
        device_id: u32,
    ) -> Result<Option<Vec<u8>>, KeepError> {
        self.session_in(v, account, peer, device_id).map_err(kept)
    }
    fn save_session(
        &self,
        v: Version,
        account: &str,
        peer: &str,
        device_id: u32,
        sealed: &[u8],
    ) -> Result<(), KeepError> {
        self.save_session_in(v, account, peer, device_id, sealed)
            .map_err(kept)
    }
    fn delete_session(
        &self,
        v: Version,
        account: &str,
        peer: &str,
        device_id: u32,
    ) -> Result<(), KeepError> {
        self.delete_session_in(v, account, peer, device_id)
            .map_err(kept)
    }
    fn identities(&self, account: &str, peer: &str) -> Result<Vec<KnownIdentity>, KeepError> {
        let devices = self.omemo_devices(account, peer).map_err(kept)?;
        Ok(devices
            .into_iter()
            .map(|d| KnownIdentity {
                device_id: d.device_id,
                identity: d.identity,
                trust: d.trust,
            })
            .collect())
    }
    fn set_identity(
        &self,
        account: &str,
        peer: &str,
        device_id: u32,
        identity: &[u8],
        trust: &str,
    ) -> Result<(), KeepError> {
        self.set_omemo_identity(account, peer, device_id, identity, trust)
            .map_err(kept)
    }
}

fn kept(e: StoreError) -> KeepError {
    KeepError(Box::new(e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn own_device_sessions_and_device_lists_are_kept() {
        let s = Store::in_memory().unwrap();
        assert_eq!(s.omemo_own("a@x").unwrap(), None);
        let own = OmemoOwn {
            device_id: 42,
            salt: vec![1; 16],
            wrapped: vec![2; 60],
            sealed: vec![3; 100],
        };
        s.save_omemo_own("a@x", &own).unwrap();
        assert_eq!(s.omemo_own("a@x").unwrap(), Some(own.clone()));
        assert_eq!(s.omemo_own("b@x").unwrap(), None, "per account");

        s.save_omemo_session("a@x", "bob@x", 7, &[9; 10]).unwrap();
        s.save_omemo_session("a@x", "bob@x", 7, &[8; 10]).unwrap();
        assert_eq!(
            s.omemo_session("a@x", "bob@x", 7).unwrap(),
            Some(vec![8; 10])
        );
        assert_eq!(s.omemo_session("a@x", "bob@x", 8).unwrap(), None);

        s.set_omemo_device_list("a@x", "bob@x", &[7, 9]).unwrap();
        s.set_omemo_identity("a@x", "bob@x", 7, &[5; 32], "blind")
            .unwrap();
        s.set_omemo_device_list("a@x", "bob@x", &[9, 11]).unwrap();
        let d = s.omemo_devices("a@x", "bob@x").unwrap();
        let summary: Vec<(u32, bool, &str)> = d
            .iter()
            .map(|d| (d.device_id, d.active, d.trust.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (7, false, "blind"),
                (9, true, "undecided"),
                (11, true, "undecided")
            ]
        );
        assert_eq!(d[0].identity.as_deref(), Some(&[5u8; 32][..]));
    }
}
