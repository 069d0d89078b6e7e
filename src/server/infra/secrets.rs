//! Encryption at rest for the secrets the app must read back (webhook signing secrets):
//! ChaCha20-Poly1305 with a 256-bit key kept in a file outside the database, so a copy of the
//! database alone does not give the secrets away. The key file is made on first use (mode
//! 0600); every node of an installation needs the same one. The same key, through a derived
//! MAC key, fingerprints what callers asked for (`Sealer::fingerprint`), so a stored fingerprint
//! cannot be tested against guessed emails without the key file.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

const PREFIX: &str = "v1.";

pub struct Sealer {
    cipher: ChaCha20Poly1305,
    mac_key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(…)")
    }
}

impl Sealer {
    pub fn from_key(key: &[u8; 32]) -> Sealer {
        use sha2::{Digest, Sha256};
        let mut derive = Sha256::new();
        derive.update(b"switchyard fingerprint key v1\0");
        derive.update(key);
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            mac_key: derive.finalize().into(),
        }
    }

    /// HMAC-SHA256 of `message` under a key derived from the key file, as 64 hex digits: the
    /// same message gives the same fingerprint on every node, and nobody without the key file
    /// can tell which message (an email, say) a fingerprint stands for.
    pub fn fingerprint(&self, message: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.mac_key)
            .expect("HMAC takes any key length");
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    /// What the database records of the key file it is keyed with: a fingerprint of a fixed
    /// text, which tells one key file from another and nothing about the key.
    pub fn key_check(&self) -> String {
        self.fingerprint(b"switchyard key check v1")
    }

    /// Reads the key file; `None` when there is none (nothing was ever sealed with it).
    pub fn load(path: &std::path::Path) -> Result<Option<Sealer>, String> {
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the key file {}: {e}", path.display()))?;
        let bytes = hex::decode(text.trim())
            .map_err(|_| format!("the key file {} must hold 64 hex digits", path.display()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("the key file {} must hold 64 hex digits", path.display()))?;
        Ok(Some(Sealer::from_key(&key)))
    }

    /// Reads the key file, or makes it (64 hex digits) when there is none.
    pub fn load_or_create(path: &std::path::Path) -> Result<Sealer, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let read = |path: &std::path::Path| -> Result<Sealer, String> {
            Sealer::load(path)?.ok_or_else(|| format!("the key file {} vanished", path.display()))
        };
        if path.exists() {
            return read(path);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        // Written whole under a name of its own, then linked into place: a process starting
        // at the same moment sees no file or a complete one, never an empty one.
        let mut draft = path.as_os_str().to_owned();
        draft.push(format!(".{:016x}.new", rand::random::<u64>()));
        let draft = std::path::PathBuf::from(draft);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&draft)
            .and_then(|mut f| {
                f.write_all(hex::encode(key).as_bytes())?;
                f.sync_all()
            });
        let linked = written.and_then(|_| std::fs::hard_link(&draft, path));
        let _ = std::fs::remove_file(&draft);
        match linked {
            Ok(()) => Ok(Sealer::from_key(&key)),
            // Another process made it a moment ago: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
            Err(e) => Err(format!(
                "cannot create the key file {}: {e}",
                path.display()
            )),
        }
    }

    /// `v1.` and base64 of a random nonce followed by the ciphertext.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("ChaCha20-Poly1305 encrypts any length we store");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String, String> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > 12)
            .ok_or_else(|| "a stored secret is damaged".to_string())?;
        let (nonce, data) = raw.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), data)
            .map_err(|_| "a stored secret cannot be opened with this key file".to_string())?;
        String::from_utf8(plain).map_err(|_| "a stored secret is damaged".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Processes starting at once agree on one key, and none reads a half-written file.
    #[test]
    fn a_key_file_made_by_many_at_once_is_one_key() {
        let dir = std::env::temp_dir().join(format!("keyfile-{}", rand::random::<u64>()));
        let path = dir.join("secret.key");
        let checks: Vec<String> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || Sealer::load_or_create(&path).unwrap().key_check())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert!(checks.iter().all(|c| *c == checks[0]), "{checks:?}");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no drafts left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sealed_text_opens_with_its_key_only_and_hides_the_secret() {
        let a = Sealer::from_key(&[7; 32]);
        let b = Sealer::from_key(&[8; 32]);
        let s = a.seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert!(!s.contains("MfKQ9r8"));
        assert_ne!(
            s,
            a.seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "fresh nonce"
        );
        assert_eq!(
            a.open(&s).unwrap(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        );
        assert!(b.open(&s).is_err());
        assert!(a.open("v1.AAAA").is_err());
    }

    #[test]
    fn fingerprints_are_stable_per_key_and_unlike_a_plain_hash() {
        use sha2::{Digest, Sha256};
        let a = Sealer::from_key(&[7; 32]);
        let msg = b"macro\0jim@example.com";
        assert_eq!(
            a.fingerprint(msg),
            Sealer::from_key(&[7; 32]).fingerprint(msg)
        );
        assert_eq!(a.fingerprint(msg).len(), 64);
        assert_ne!(
            a.fingerprint(msg),
            Sealer::from_key(&[8; 32]).fingerprint(msg)
        );
        assert_ne!(a.fingerprint(msg), hex::encode(Sha256::digest(msg)));
        assert_ne!(a.fingerprint(msg), a.fingerprint(b"macro\0jim@example.org"));
    }

    #[test]
    fn the_key_file_is_made_once_and_read_after() {
        let dir = std::env::temp_dir().join(format!("sy-key-{}", std::process::id()));
        let path = dir.join("secret.key");
        let _ = std::fs::remove_file(&path);
        let first = Sealer::load_or_create(&path).unwrap();
        let sealed = first.seal("x");
        let again = Sealer::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "x");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
