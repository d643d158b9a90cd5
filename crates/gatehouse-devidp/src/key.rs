//! The RS256 signing key: generated once, kept in the data directory, reused on restart so tokens
//! printed earlier stay valid.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::DevIdpError;

/// The key file's name inside the data directory.
const KEY_FILE: &str = "devidp-rs256.pk8";

/// An RSA 2048 key signing RS256, with its key id.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pair: Arc<RsaKeyPair>,
    kid: String,
}

impl SigningKey {
    /// A fresh key, kept in memory only.
    pub fn generate() -> Result<Self, DevIdpError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| DevIdpError::Crypto("RSA key generation failed"))?;
        Ok(Self::from_pair(pair))
    }

    /// The key in `dir`, or a new one written there (the directory is created, owner-only).
    pub fn load_or_generate(dir: &Path) -> Result<Self, DevIdpError> {
        let path = dir.join(KEY_FILE);
        match Self::read(&path)? {
            Some(key) => Ok(key),
            None => {
                let key = Self::generate()?;
                if key.write(dir, &path)? {
                    Ok(key)
                } else {
                    // Another process (`gatehouse token` beside `gatehouse demo`) wrote its key
                    // first; use that one, so both sign with the key the JWKS serves.
                    Self::read(&path)?.ok_or(DevIdpError::BadKey { path })
                }
            }
        }
    }

    /// The key at `path`, or `None` when there is no file.
    fn read(path: &Path) -> Result<Option<Self>, DevIdpError> {
        match std::fs::read(path) {
            Ok(der) => RsaKeyPair::from_pkcs8(&der)
                .map(|pair| Some(Self::from_pair(pair)))
                .map_err(|_| DevIdpError::BadKey {
                    path: path.to_path_buf(),
                }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(DevIdpError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn from_pair(pair: RsaKeyPair) -> Self {
        let kid = thumbprint(&pair);
        SigningKey {
            pair: Arc::new(pair),
            kid,
        }
    }

    /// Writes the key to `path` unless a key is there already; returns whether it wrote.
    fn write(&self, dir: &Path, path: &Path) -> Result<bool, DevIdpError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DevIdpError::Io { path, source }
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        let der: Pkcs8V1Der<'static> =
            AsDer::as_der(&*self.pair).map_err(|_| DevIdpError::Crypto("cannot encode the key"))?;
        // Written beside, then linked into place: a reader never sees half a key, and of two
        // processes generating at once only the first one's key is kept (a link never replaces).
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let unique = WRITES.fetch_add(1, Ordering::Relaxed);
        let tmp: PathBuf = path.with_extension(format!("{}-{unique}.tmp", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        file.write_all(der.as_ref()).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(source) => Err(io(path)(source)),
        }
    }

    /// The key id (`kid`): the RFC 7638 thumbprint of the public key, stable across restarts.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, for the JWKS document.
    pub fn jwk(&self) -> Value {
        let (n, e) = public_parts(&self.pair);
        json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": n, "e": e })
    }

    /// Signs `message` with RS256.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DevIdpError> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| DevIdpError::Crypto("signing failed"))?;
        Ok(signature)
    }
}

/// The modulus and exponent, base64url as in a JWK.
fn public_parts(pair: &RsaKeyPair) -> (String, String) {
    let public = pair.public_key();
    (
        URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
    )
}

fn thumbprint(pair: &RsaKeyPair) -> String {
    let (n, e) = public_parts(pair);
    // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_written_to_the_data_directory_is_reused() {
        let dir = std::env::temp_dir().join(format!("devidp-key-{}", std::process::id()));
        let first = SigningKey::load_or_generate(&dir).unwrap();
        let again = SigningKey::load_or_generate(&dir).unwrap();
        assert_eq!(first.kid(), again.kid());
        assert_eq!(first.jwk(), again.jwk());
        let other = SigningKey::generate().unwrap();
        assert_ne!(first.kid(), other.kid());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn processes_generating_at_once_end_up_with_one_key() {
        let dir = std::env::temp_dir().join(format!("devidp-race-{}", std::process::id()));
        let kids: Vec<String> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| SigningKey::load_or_generate(&dir).unwrap()))
                .collect();
            racers
                .into_iter()
                .map(|r| r.join().unwrap().kid().to_owned())
                .collect()
        });
        assert!(kids.iter().all(|kid| *kid == kids[0]), "{kids:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_key_file_is_reported_not_replaced() {
        let dir = std::env::temp_dir().join(format!("devidp-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(KEY_FILE), b"nonsense").unwrap();
        let error = SigningKey::load_or_generate(&dir).unwrap_err();
        assert!(matches!(error, DevIdpError::BadKey { .. }), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
