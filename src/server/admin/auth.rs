//! Sign-in for managers: argon2id password hashes, server-side sessions whose id is the
//! SHA-256 of a random cookie token, idle and absolute expiry, and throttled failures.

use crate::server::store::audit_trail;
use std::collections::HashMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{Duration as ChronoDuration, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};
use sha2::{Digest, Sha256};

use super::Actor;
use crate::errors::AppError;
use crate::server::domain::{Email, NewPassword};
use crate::server::entities::{admin_session, user};
use crate::server::settings::{Secret, Settings};
use crate::types::{CurrentUserView, Role};

pub const SESSION_COOKIE: &str = "switchyard_session";
/// The cookie's name when cookies are `Secure`: the `__Host-` prefix makes the browser refuse
/// it unless it is Secure, for this host only and for every path, so no other site or
/// subdomain can set it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-switchyard_session";

fn cookie_name(settings: &Settings) -> &'static str {
    if settings.secure_cookies() {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// How often a session's last-seen time is written back (it bounds idle-expiry precision).
const TOUCH_EVERY_SECS: i64 = 60;

/// Password hashes computed at once in this process. Each argon2id hash takes about 19 MiB for
/// a moment; a burst of sign-ins waits here instead of taking the memory all at once.
const HASHING_AT_ONCE: usize = 4;
/// How long a sign-in waits for its turn before it is told to come back (503).
const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

async fn hashing_turn() -> Result<tokio::sync::SemaphorePermit<'static>, AppError> {
    static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHING_AT_ONCE);
    match tokio::time::timeout(HASHING_WAIT, HASHING.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(AppError::Unavailable {
            message: "too many sign-ins at once; try again in a few seconds".into(),
            retry_after_secs: 2,
        }),
    }
}

/// Failed sign-ins in this process, per account and per caller address: each failure beyond
/// `login.max_failures` (four times as many for an address) doubles the wait before the next
/// attempt, up to [`MAX_DELAY`]; nobody is locked out for longer than that, and a success
/// clears the account's count. An attempt is counted before its password is checked, under one
/// lock, so concurrent attempts cannot slip past the count. Counts are forgotten after
/// `login.window_minutes` without a failure.
#[derive(Default)]
pub struct SignInGuard {
    tallies: std::sync::Mutex<HashMap<String, Tally>>,
}

/// The longest wait between two attempts on one account or from one address.
pub const MAX_DELAY: std::time::Duration = std::time::Duration::from_secs(60);
/// Accounts and addresses tallied at once (a map this full forgets what has expired).
const MAX_TALLIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Tally {
    failures: u32,
    last: std::time::Instant,
    next_allowed: std::time::Instant,
    /// A refusal during the current wait was written to the audit log already.
    noted: bool,
}

/// An attempt refused before its password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Throttled {
    wait: std::time::Duration,
    /// The first refusal of this wait: the one the audit log records (the others of a flood
    /// would each cost a write and say nothing new).
    first: bool,
}

/// The tally key of a caller address: the address, or the /64 of an IPv6 one (anyone can
/// hold a whole /64, so its addresses count as one caller).
fn address_key(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(ip) => format!("address:{}", crate::server::refusals::budget_key(ip)),
        Err(_) => format!("address:{address}"),
    }
}

impl SignInGuard {
    fn delay(failures: u32, free: u32) -> std::time::Duration {
        if failures < free {
            return std::time::Duration::ZERO;
        }
        let doublings = (failures - free).min(16);
        std::time::Duration::from_secs(1u64 << doublings).min(MAX_DELAY)
    }

    /// Counts an attempt on `account` from `address` (as a failure until `succeeded`), or says
    /// how long to wait before the next one.
    fn begin(
        &self,
        settings: &Settings,
        account: Option<&str>,
        address: &str,
    ) -> Result<(), Throttled> {
        let now = std::time::Instant::now();
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let window = settings.login_window;
        if tallies.len() >= MAX_TALLIES {
            tallies.retain(|_, t| now.duration_since(t.last) < window || t.next_allowed > now);
        }
        // Full of live tallies (a flood from that many addresses): the ones held are kept, new
        // ones are not started, so nobody's count can be wiped by filling the map.
        let room = tallies.len() < MAX_TALLIES;
        // Only accounts that exist are tallied: made-up emails take no room.
        let keys: Vec<(String, u32)> = account
            .map(|a| (format!("account:{a}"), settings.login_max_failures))
            .into_iter()
            .chain((!address.is_empty()).then(|| {
                (
                    address_key(address),
                    settings.login_max_failures.saturating_mul(4),
                )
            }))
            .collect();
        let mut wait = std::time::Duration::ZERO;
        for (key, _) in &keys {
            if let Some(t) = tallies.get(key) {
                if now.duration_since(t.last) >= window && t.next_allowed <= now {
                    tallies.remove(key);
                } else {
                    wait = wait.max(t.next_allowed.saturating_duration_since(now));
                }
            }
        }
        if !wait.is_zero() {
            let mut first = false;
            for (key, _) in &keys {
                if let Some(t) = tallies.get_mut(key)
                    && t.next_allowed > now
                    && !t.noted
                {
                    t.noted = true;
                    first = true;
                }
            }
            return Err(Throttled { wait, first });
        }
        for (key, free) in keys {
            if !room && !tallies.contains_key(&key) {
                continue;
            }
            let t = tallies.entry(key).or_insert(Tally {
                failures: 0,
                last: now,
                next_allowed: now,
                noted: false,
            });
            t.failures += 1;
            t.last = now;
            t.next_allowed = now + Self::delay(t.failures, free);
            t.noted = false;
        }
        Ok(())
    }

    /// The attempt was never checked (no turn to hash the password: 503): its count is given
    /// back, so a busy server does not slow anyone down.
    fn not_checked(&self, settings: &Settings, account: Option<&str>, address: &str) {
        let now = std::time::Instant::now();
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let keys = account
            .map(|a| (format!("account:{a}"), settings.login_max_failures))
            .into_iter()
            .chain((!address.is_empty()).then(|| {
                (
                    address_key(address),
                    settings.login_max_failures.saturating_mul(4),
                )
            }));
        for (key, free) in keys {
            if let Some(t) = tallies.get_mut(&key) {
                t.failures = t.failures.saturating_sub(1);
                if t.failures == 0 {
                    tallies.remove(&key);
                } else {
                    t.next_allowed = now + Self::delay(t.failures, free);
                }
            }
        }
    }

    /// The attempt succeeded: the account starts afresh and the address's count is given back.
    fn succeeded(&self, account: &str, address: &str) {
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        tallies.remove(&format!("account:{account}"));
        let key = address_key(address);
        if let Some(t) = tallies.get_mut(&key) {
            t.failures = t.failures.saturating_sub(1);
            if t.failures == 0 {
                tallies.remove(&key);
            }
        }
    }
}

/// Hashes a password with argon2id on a blocking thread.
pub async fn hash_password(password: &NewPassword) -> Result<String, AppError> {
    let _turn = hashing_turn().await?;
    let password = Secret::new(password.expose().to_string());
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| AppError::internal(e))?
}

/// Verifies a password against a stored hash; with no hash it still does the work, so that
/// unknown accounts cannot be told apart by timing.
async fn verify_password(password: Secret<String>, hash: Option<String>) -> Result<bool, AppError> {
    let _turn = hashing_turn().await?;
    tokio::task::spawn_blocking(move || {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            Argon2::default()
                .hash_password(b"no account has this password", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let stored = hash.as_deref().unwrap_or(dummy);
        let parsed = PasswordHash::new(stored)
            .map_err(|e| AppError::internal(format!("stored hash: {e}")))?;
        let ok = Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        Ok(ok && hash.is_some())
    })
    .await
    .map_err(|e| AppError::internal(e))?
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn session_id_for(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn view_of(u: &user::Model) -> Result<CurrentUserView, AppError> {
    Ok(CurrentUserView {
        id: u.id,
        email: u.email.clone(),
        display_name: format!("{} {}", u.first_name, u.last_name),
        role: Role::parse(&u.role).map_err(|e| AppError::internal(e))?,
    })
}

pub struct SignedIn {
    /// The cookie value; shown to nobody else.
    pub token: Secret<String>,
    pub user: CurrentUserView,
}

pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

/// Checks the credentials and opens a new session. Every attempt lands in the audit log.
#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[allow(clippy::too_many_arguments)]
pub async fn sign_in(
    db: &impl ConnectionTrait,
    settings: &Settings,
    guard: &SignInGuard,
    email_input: &str,
    password: Secret<String>,
    client: &ClientInfo,
    previous_token: Option<&str>,
) -> Result<SignedIn, AppError> {
    let mut errors = crate::errors::FieldErrors::new();
    let email = errors.check("email", Email::parse(email_input));
    if password.expose().is_empty() {
        errors.push("password", "is required");
    }
    errors.into_result()?;
    let email = email.expect("checked above");
    let actor = Actor {
        user_id: None,
        label: email.to_string(),
        ip: client.ip.clone(),
        session: None,
        role: None,
    };

    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    // Entries about an account are tied to it, so that erasing the person redacts them.
    let about = found.as_ref().map(|u| u.id);
    if let Err(Throttled { wait, first }) =
        guard.begin(settings, about.map(|_| email.as_str()), &client.ip)
    {
        if first {
            audit_trail::record_about(
                db,
                &actor,
                "sign_in.throttled",
                about,
                email.as_str(),
                "too many failed attempts",
            )
            .await?;
        }
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        return Err(AppError::TooManyRequests {
            message: format!(
                "too many failed sign-in attempts; try again in {seconds} second{}",
                if seconds == 1 { "" } else { "s" }
            ),
            retry_after_secs: seconds,
        });
    }

    let allowed = found
        .as_ref()
        .and_then(|u| Role::parse(&u.role).ok())
        .is_some_and(Role::can_sign_in);
    let hash = found
        .as_ref()
        .filter(|_| allowed)
        .and_then(|u| u.password_hash.clone());
    let ok = match verify_password(password, hash).await {
        Ok(ok) => ok,
        Err(e) => {
            guard.not_checked(settings, about.map(|_| email.as_str()), &client.ip);
            return Err(e);
        }
    };
    if ok {
        guard.succeeded(email.as_str(), &client.ip);
    }
    let Some(u) = found.filter(|_| ok) else {
        audit_trail::record_about(
            db,
            &actor,
            "sign_in.failed",
            about,
            email.as_str(),
            "wrong email or password",
        )
        .await?;
        return Err(AppError::field(
            "password",
            "the email or password is not right",
        ));
    };

    // A fresh session id at every sign-in; the one the browser had (if any) is dropped.
    if let Some(old) = previous_token {
        admin_session::Entity::delete_by_id(session_id_for(old))
            .exec(db)
            .await?;
    }
    let token = new_token();
    let now = Utc::now();
    admin_session::ActiveModel {
        id: Set(session_id_for(&token)),
        user_id: Set(u.id),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now
            + ChronoDuration::from_std(settings.session_absolute)
                .map_err(|e| AppError::internal(e))?),
        ip: Set(client.ip.chars().take(64).collect()),
        user_agent: Set(client.user_agent.chars().take(300).collect()),
    }
    .insert(db)
    .await?;
    let actor = Actor {
        user_id: Some(u.id),
        ..actor
    };
    audit_trail::record_about(db, &actor, "sign_in.succeeded", about, email.as_str(), "").await?;
    Ok(SignedIn {
        token: Secret::new(token),
        user: view_of(&u)?,
    })
}

/// The manager behind a session token, if the session is still valid. Expired sessions are
/// deleted on sight.
pub async fn session_user(
    db: &impl ConnectionTrait,
    settings: &Settings,
    token: &str,
) -> Result<Option<CurrentUserView>, AppError> {
    let id = session_id_for(token);
    let Some(session) = admin_session::Entity::find_by_id(id.clone())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    let idle =
        ChronoDuration::from_std(settings.session_idle).map_err(|e| AppError::internal(e))?;
    if now >= session.expires_at || now - session.last_seen_at >= idle {
        admin_session::Entity::delete_by_id(id).exec(db).await?;
        return Ok(None);
    }
    let Some(u) = user::Entity::find_by_id(session.user_id).one(db).await? else {
        return Ok(None);
    };
    let view = view_of(&u)?;
    if !view.role.can_sign_in() {
        admin_session::Entity::delete_by_id(id).exec(db).await?;
        return Ok(None);
    }
    if (now - session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
        let mut active = session.into_active_model();
        active.last_seen_at = Set(now);
        active.update(db).await?;
    }
    Ok(Some(view))
}

pub async fn sign_out(
    db: &impl ConnectionTrait,
    token: &str,
    actor: &Actor,
) -> Result<(), AppError> {
    admin_session::Entity::delete_by_id(session_id_for(token))
        .exec(db)
        .await?;
    audit_trail::record(db, actor, "sign_out", &actor.label, "").await
}

/// A user's admin sessions that are still valid, newest first; `current` marks the viewer's.
pub async fn sessions_of(
    db: &impl ConnectionTrait,
    user_id: i32,
    current: Option<&str>,
) -> Result<Vec<crate::types::SessionView>, AppError> {
    use sea_orm::QueryOrder;
    let now = Utc::now();
    Ok(admin_session::Entity::find()
        .filter(admin_session::Column::UserId.eq(user_id))
        .filter(admin_session::Column::ExpiresAt.gt(now))
        .order_by_desc(admin_session::Column::LastSeenAt)
        .all(db)
        .await?
        .into_iter()
        .map(|s| crate::types::SessionView {
            current: current == Some(s.id.as_str()),
            created_at: super::format_time(&s.created_at),
            last_seen_at: super::format_time(&s.last_seen_at),
            ip: s.ip,
            user_agent: s.user_agent.chars().take(120).collect(),
        })
        .collect())
}

/// Ends every session of a user but `keep` (a session id): a password change by the user
/// themself, or "Sign out everywhere else". Returns how many ended.
pub async fn end_sessions_except(
    db: &impl ConnectionTrait,
    user_id: i32,
    keep: Option<&str>,
) -> Result<u64, AppError> {
    let mut ending =
        admin_session::Entity::delete_many().filter(admin_session::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        ending = ending.filter(admin_session::Column::Id.ne(keep));
    }
    Ok(ending.exec(db).await?.rows_affected)
}

/// "Sign out everywhere": ends the sessions of `user_id` (all but the acting one's own).
/// Managers may end their own; community managers anyone's (`may_end_others`).
pub async fn sign_out_everywhere(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    user_id: i32,
    may_end_others: bool,
) -> Result<u64, AppError> {
    if actor.user_id != Some(user_id) && !may_end_others {
        return Err(AppError::Forbidden(
            "only community managers can end another manager's sessions".into(),
        ));
    }
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let ended = end_sessions_except(&txn, user_id, actor.session.as_deref()).await?;
    audit_trail::record_about(
        &txn,
        actor,
        "sessions.ended",
        Some(user_id),
        &format!("user {user_id}"),
        &format!("{ended} session(s) ended"),
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}

/// The `Set-Cookie` value for a session token (or, with None, one that clears it).
pub fn session_cookie(settings: &Settings, token: Option<&str>) -> String {
    let secure = if settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let name = cookie_name(settings);
    match token {
        Some(t) => format!(
            "{name}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            settings.session_absolute.as_secs()
        ),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

/// The session token in a `Cookie` header, if any (only under the name the settings give
/// the cookie).
pub fn token_from_cookie_header(settings: &Settings, header: &str) -> Option<String> {
    let wanted = cookie_name(settings);
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == wanted && !value.is_empty()).then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_sign_ins_slow_down_and_never_lock_out_for_long() {
        let mut s = Settings::for_database("sqlite::memory:");
        s.login_max_failures = 3;
        let guard = SignInGuard::default();
        for _ in 0..3 {
            guard.begin(&s, Some("cm@example.com"), "10.0.0.1").unwrap();
        }
        let refused = guard
            .begin(&s, Some("cm@example.com"), "10.0.0.2")
            .unwrap_err();
        assert!(
            refused.wait <= std::time::Duration::from_secs(1),
            "{refused:?}"
        );
        assert!(
            refused.first,
            "the first refusal of a wait is the one recorded"
        );
        let again = guard
            .begin(&s, Some("cm@example.com"), "10.0.0.3")
            .unwrap_err();
        assert!(!again.first, "a flood of refusals is recorded once");
        // Another account from the same address is not slowed by it.
        guard.begin(&s, Some("pm@example.com"), "10.0.0.1").unwrap();
        // Made-up accounts are not tallied.
        guard.begin(&s, None, "10.0.0.9").unwrap();
        assert!(
            !guard
                .tallies
                .lock()
                .unwrap()
                .keys()
                .any(|k| k.contains("nobody"))
        );
        // The waits double but stay bounded.
        assert_eq!(SignInGuard::delay(3, 3), std::time::Duration::from_secs(1));
        assert_eq!(SignInGuard::delay(5, 3), std::time::Duration::from_secs(4));
        assert_eq!(SignInGuard::delay(40, 3), MAX_DELAY);
        assert_eq!(SignInGuard::delay(2, 3), std::time::Duration::ZERO);
        // A success clears the account.
        guard.succeeded("pm@example.com", "10.0.0.1");
        assert!(
            !guard
                .tallies
                .lock()
                .unwrap()
                .contains_key("account:pm@example.com")
        );
    }

    #[test]
    fn addresses_of_one_ipv6_64_count_as_one_caller() {
        let mut s = Settings::for_database("sqlite::memory:");
        s.login_max_failures = 1;
        let guard = SignInGuard::default();
        // An address may fail four times as often as an account before it waits.
        for i in 1..=4 {
            guard
                .begin(&s, None, &format!("2001:db8:1:2::{i}"))
                .unwrap();
        }
        assert!(
            guard.begin(&s, None, "2001:db8:1:2::ffff").is_err(),
            "another address of the same /64 waits too"
        );
        guard.begin(&s, None, "2001:db8:1:3::1").unwrap();
    }

    #[test]
    fn an_attempt_never_checked_is_given_back() {
        let mut s = Settings::for_database("sqlite::memory:");
        s.login_max_failures = 2;
        let guard = SignInGuard::default();
        guard.begin(&s, Some("cm@example.com"), "10.0.0.1").unwrap();
        // The next attempt finds the server too busy to hash (503): it does not count.
        guard.begin(&s, Some("cm@example.com"), "10.0.0.1").unwrap();
        guard.not_checked(&s, Some("cm@example.com"), "10.0.0.1");
        guard.begin(&s, Some("cm@example.com"), "10.0.0.1").unwrap();
        assert!(
            guard.begin(&s, Some("cm@example.com"), "10.0.0.1").is_err(),
            "two counted failures, then the wait"
        );
        let fresh = SignInGuard::default();
        fresh.begin(&s, Some("cm@example.com"), "10.0.0.1").unwrap();
        fresh.not_checked(&s, Some("cm@example.com"), "10.0.0.1");
        assert!(fresh.tallies.lock().unwrap().is_empty());
    }

    #[test]
    fn concurrent_attempts_cannot_slip_past_the_count() {
        let mut s = Settings::for_database("sqlite::memory:");
        s.login_max_failures = 5;
        let guard = std::sync::Arc::new(SignInGuard::default());
        let admitted: usize = (0..20)
            .map(|i| {
                let (guard, s) = (guard.clone(), s.clone());
                std::thread::spawn(move || {
                    guard
                        .begin(&s, Some("cm@example.com"), &format!("10.0.0.{i}"))
                        .is_ok() as usize
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(admitted, 5, "only the free attempts get through at once");
    }

    #[test]
    fn cookie_round_trip_and_flags() {
        let s = Settings::for_database("sqlite::memory:");
        let c = session_cookie(&s, Some("abc"));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && !c.contains("Secure"));
        assert_eq!(
            token_from_cookie_header(&s, "a=b; switchyard_session=abc; c=d").as_deref(),
            Some("abc")
        );
        assert_eq!(token_from_cookie_header(&s, "switchyard_session="), None);
        let mut https = s.clone();
        https.public_base_url = url::Url::parse("https://beta.example.com").unwrap();
        let cookie = session_cookie(&https, Some("abc"));
        assert!(
            cookie.starts_with("__Host-switchyard_session=abc; Path=/;")
                && cookie.ends_with("; Secure")
        );
        assert_eq!(
            token_from_cookie_header(
                &https,
                "switchyard_session=x; __Host-switchyard_session=abc"
            )
            .as_deref(),
            Some("abc"),
            "over https only the prefixed cookie counts"
        );
        let mut proxied = s.clone();
        proxied.force_secure_cookies = true;
        assert!(session_cookie(&proxied, Some("abc")).starts_with("__Host-"));
    }

    #[test]
    fn session_ids_are_hashes_of_tokens() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(session_id_for(&t), t);
        assert_eq!(session_id_for(&t), session_id_for(&t));
    }
}
