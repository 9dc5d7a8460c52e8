//! PIN hashing with argon2id (PHC strings). PINs are 4 to 8 digits.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PinError {
    #[error("a PIN is 4 to 8 digits")]
    Format,
    #[error("could not hash the PIN: {0}")]
    Hash(String),
}

pub fn validate(pin: &str) -> Result<(), PinError> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PinError::Format)
    }
}

pub fn hash(pin: &str) -> Result<String, PinError> {
    validate(pin)?;
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| PinError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinError::Hash(e.to_string()))
}

pub fn verify(pin: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let a = hash("1234").unwrap();
        let b = hash("1234").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("1234", &a));
        assert!(!verify("4321", &a));
        assert!(!verify("1234", "not a hash"));
        assert_eq!(hash("12a4"), Err(PinError::Format));
        assert_eq!(hash("123"), Err(PinError::Format));
    }
}
