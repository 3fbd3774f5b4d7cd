//! Prepared data: the event a run books and the users it books as, made once by
//! `loadgen prepare` and reused by every run, so a run measures booking and not password hashing.
//!
//! ```json
//! {"version":1,"host":"http://127.0.0.1:3000","createdAt":"...","eventId":"<uuid>","eventName":"...",
//!  "seats":10000,"users":[{"id":"<uuid>","email":"...","password":"...","token":"<jwt>"}]}
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Bump when the file's meaning changes; older files are refused with a message.
pub const VERSION: u32 = 1;

/// One user of the pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedUser {
    pub id: Uuid,
    pub email: String,
    pub password: String,
    /// A JWT from login; a run logs in again when the target refuses it (expired).
    pub token: String,
}

/// The prepared-data file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedData {
    pub version: u32,
    /// The gateway it was prepared against (informational: the target is checked, not the name).
    pub host: String,
    pub created_at: String,
    pub event_id: Uuid,
    pub event_name: String,
    /// Seats the event was created with.
    pub seats: u64,
    pub users: Vec<PreparedUser>,
}

/// The file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read prepared data {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("prepared data {path} is not a loadgen data file: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("prepared data {path} has version {found}; this loadgen reads version {VERSION} (run `loadgen prepare` again)")]
    Version { path: String, found: u32 },
    #[error("prepared data {path} has no users")]
    NoUsers { path: String },
}

impl PreparedData {
    /// Reads and sanity-checks a data file (the target is checked later, against the live API).
    ///
    /// # Errors
    /// [`DataError`] naming the file.
    pub fn load(path: &Path) -> Result<Self, DataError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| DataError::Read {
            path: shown.clone(),
            source,
        })?;
        let data: Self = serde_json::from_str(&text).map_err(|source| DataError::Parse {
            path: shown.clone(),
            source,
        })?;
        if data.version != VERSION {
            return Err(DataError::Version {
                path: shown,
                found: data.version,
            });
        }
        if data.users.is_empty() {
            return Err(DataError::NoUsers { path: shown });
        }
        Ok(data)
    }

    /// Writes the file (pretty JSON), creating its directory.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(
            path,
            serde_json::to_vec_pretty(self).map_err(std::io::Error::from)?,
        )
    }

    /// Keeps the users of slice `index` of `count` (user i goes to slice i % count), for
    /// generators that share one file.
    pub fn slice(&mut self, index: usize, count: usize) {
        let users = std::mem::take(&mut self.users);
        self.users = users
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % count == index)
            .map(|(_, u)| u)
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(users: usize) -> PreparedData {
        PreparedData {
            version: VERSION,
            host: "http://127.0.0.1:3000".into(),
            created_at: "now".into(),
            event_id: Uuid::new_v4(),
            event_name: "e".into(),
            seats: 10,
            users: (0..users)
                .map(|i| PreparedUser {
                    id: Uuid::new_v4(),
                    email: format!("u{i}@x"),
                    password: "p".into(),
                    token: "t".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_saved_file_loads_back_and_slices_partition_the_users() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/data.json");
        sample(10).save(&path).unwrap();
        let data = PreparedData::load(&path).unwrap();
        let mut seen = 0;
        for i in 0..3 {
            let mut part = data.clone();
            part.slice(i, 3);
            seen += part.users.len();
        }
        assert_eq!(seen, 10);
    }

    #[test]
    fn wrong_files_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.json");
        std::fs::write(&path, "{\"not\": 1}").unwrap();
        let err = PreparedData::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("data.json") && err.contains("not a loadgen data file"),
            "{err}"
        );
        let mut old = sample(1);
        old.version = 0;
        old.save(&path).unwrap();
        assert!(PreparedData::load(&path)
            .unwrap_err()
            .to_string()
            .contains("version 0"));
        sample(0).save(&path).unwrap();
        assert!(PreparedData::load(&path)
            .unwrap_err()
            .to_string()
            .contains("no users"));
    }
}
