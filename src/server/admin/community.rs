//! The community (the one tenant), its first manager account, demo data and the dashboard.

use crate::server::engine::outbox;
use crate::server::store::audit_trail;
use chrono::Utc;
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, Set,
};

use super::{Actor, audit, auth, teams, users};
use crate::errors::AppError;
use crate::server::domain::{Email, NewPassword, PersonName};
use crate::server::entities::{community, macro_mark, project, team_membership, user};
use crate::server::secrets::Sealer;
use crate::types::{DashboardStats, Role};

/// Makes sure the community row exists and carries the configured name.
pub async fn ensure_community(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<community::Model, AppError> {
    // Written without RETURNING and read back: on SQLite, a row returned by a pooled
    // connection right after the migrations now and then lacked the column the last migration
    // added ("Missing value for column 'secrets_sealed'"), failing start-up.
    match community::Entity::find().one(db).await? {
        Some(c) if c.name == name && c.hash_key.is_empty() => return Ok(c),
        Some(c) => {
            let mut active = c.into_active_model();
            active.name = Set(name.to_string());
            // The key of the legacy marks goes once no legacy mark is left.
            if !legacy_marks_remain(db).await? {
                active.hash_key = Set(String::new());
            }
            community::Entity::update_many()
                .set(active)
                .exec(db)
                .await?;
        }
        None => {
            community::Entity::insert(community::ActiveModel {
                name: Set(name.to_string()),
                created_at: Set(Utc::now()),
                hash_key: Set(String::new()),
                secrets_sealed: Set(false),
                key_check: Set(String::new()),
                ..Default::default()
            })
            .exec_without_returning(db)
            .await?;
        }
    }
    community::Entity::find()
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("the community row was not written"))
}

/// The key file this database is keyed with (run-once marks, Idempotency-Keys, sealed
/// secrets and requests). Once `serve` has recorded it ([`record_key_file`]), a missing or
/// different key file stops every command with what to do, instead of a new key that would
/// match and open nothing written before (or, on one node of several, false 422s). Before
/// that, the file is used as found, and made only while the database holds nothing keyed.
pub async fn key_file_sealer(
    db: &impl ConnectionTrait,
    path: &std::path::Path,
) -> Result<Sealer, String> {
    let check = recorded_key_check(db).await?;
    let missing = || {
        format!(
            "the key file {} is missing, and this database holds data keyed with one: restore \
             it from a backup (every node needs the same file); a new key would match and open \
             nothing stored before",
            path.display()
        )
    };
    match Sealer::load(path)? {
        Some(s) if !check.is_empty() && s.key_check() != check => Err(format!(
            "the key file {} is not the one this database is keyed with: use the file the \
             database was first served with (every node needs the same file)",
            path.display()
        )),
        Some(s) => Ok(s),
        None if !check.is_empty() => Err(missing()),
        None if holds_keyed_data(db).await.map_err(|e| e.to_string())? => Err(missing()),
        None => Sealer::load_or_create(path),
    }
}

/// Records the key file a serving node uses, if none is recorded yet. Of two nodes first
/// served on one database, the first to record wins and the other is told its file differs.
/// Only `serve` records: a one-off command (a migration in a container without the file)
/// leaves nothing behind that would lock the real nodes out.
pub async fn record_key_file(db: &impl ConnectionTrait, sealer: &Sealer) -> Result<(), String> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    community::Entity::update_many()
        .col_expr(community::Column::KeyCheck, Expr::value(sealer.key_check()))
        .filter(community::Column::KeyCheck.eq(""))
        .exec(db)
        .await
        .map_err(|e| format!("cannot record the key file: {e}"))?;
    if recorded_key_check(db).await? != sealer.key_check() {
        return Err(
            "the key file is not the one another node recorded for this database: every node \
             needs the same file"
                .into(),
        );
    }
    Ok(())
}

async fn recorded_key_check(db: &impl ConnectionTrait) -> Result<String, String> {
    community::Entity::find()
        .one(db)
        .await
        .map_err(|e| format!("cannot read the community: {e}"))?
        .map(|c| c.key_check)
        .ok_or_else(|| "the community row is missing".to_string())
}

/// Whether anything in the database was keyed or sealed with a key file: run-once marks,
/// stored Idempotency-Keys, signing secrets, sealed header values, sealed requests.
async fn holds_keyed_data(db: &impl ConnectionTrait) -> Result<bool, AppError> {
    use crate::server::entities::{idempotency_key, webhook, webhook_delivery};
    use sea_orm::sea_query::ExprTrait;
    use sea_orm::{ColumnTrait, QueryFilter};
    let marks = macro_mark::Entity::find()
        .filter(
            macro_mark::Column::SubjectHash
                .like(format!("{}%", crate::server::engine::runs::MARK_PREFIX)),
        )
        .count(db)
        .await?;
    let keys = idempotency_key::Entity::find().count(db).await?;
    let secrets = webhook::Entity::find()
        .filter(
            webhook::Column::SigningSecret
                .is_not_null()
                .or(webhook::Column::Headers.contains(outbox::SEALED_VALUE)),
        )
        .count(db)
        .await?;
    let sealed = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Sealed.eq(true))
        .count(db)
        .await?;
    Ok(marks + keys + secrets + sealed > 0)
}

/// Whether `macro_marks` still holds marks keyed under the database's own key (written
/// before marks were keyed under the key file).
async fn legacy_marks_remain(db: &impl ConnectionTrait) -> Result<bool, AppError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let prefix = format!("{}%", crate::server::engine::runs::MARK_PREFIX);
    Ok(macro_mark::Entity::find()
        .filter(macro_mark::Column::SubjectHash.not_like(prefix))
        .count(db)
        .await?
        > 0)
}

/// A random password for a generated account: 20 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

pub struct NewAdmin {
    pub email: String,
    pub password: Option<String>,
    pub first_name: String,
    pub last_name: String,
}

/// Creates a community manager (or promotes and resets an existing user with that email).
/// Returns the password when it was generated here, so the caller can show it once.
pub async fn create_admin(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewAdmin,
) -> Result<Option<String>, AppError> {
    let mut errors = crate::errors::FieldErrors::new();
    let email = errors.check("email", Email::parse(&input.email));
    let first = errors.check("first_name", PersonName::parse(&input.first_name));
    let last = errors.check("last_name", PersonName::parse(&input.last_name));
    let generated = input.password.is_none().then(generate_password);
    let password_text = input
        .password
        .clone()
        .or(generated.clone())
        .unwrap_or_default();
    let password = errors.check("password", NewPassword::parse(&password_text));
    errors.into_result()?;
    let (email, first, last, password) = (
        email.expect("checked"),
        first.expect("checked"),
        last.expect("checked"),
        password.expect("checked"),
    );
    let hash = auth::hash_password(&password).await?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    match crate::server::store::lookups::find_user_by_email(&txn, &email).await? {
        Some(existing) => {
            let id = existing.id;
            let mut active = existing.into_active_model();
            active.role = Set(Role::CommunityManager.key().to_string());
            active.password_hash = Set(Some(hash));
            active.updated_at = Set(Utc::now());
            active.update(&txn).await?;
            audit_trail::record_about(&txn, actor, "admin.promoted", Some(id), email.as_str(), "")
                .await?;
        }
        None => {
            let now = Utc::now();
            let created = user::ActiveModel {
                email: Set(email.to_string()),
                first_name: Set(first.as_str().to_string()),
                last_name: Set(last.as_str().to_string()),
                role: Set(Role::CommunityManager.key().to_string()),
                score: Set(0),
                password_hash: Set(Some(hash)),
                search_text: Set(
                    format!("{} {} {}", email, first.as_str(), last.as_str()).to_lowercase()
                ),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            audit_trail::record_about(
                &txn,
                actor,
                "admin.created",
                Some(created.id),
                email.as_str(),
                "",
            )
            .await?;
            crate::server::engine::automation::user_event(
                &txn,
                actor,
                created.id,
                crate::server::engine::automation::UserEvent::Created,
            )
            .await?;
        }
    }
    txn.commit().await?;
    drop(gate);
    Ok(generated)
}

/// On first start (no community manager yet), creates one from the environment
/// (`SWITCHYARD_ADMIN_EMAIL`, `SWITCHYARD_ADMIN_PASSWORD`) or with a generated password.
/// Returns (email, generated password) when an account was created.
pub async fn bootstrap_admin(
    db: &DatabaseConnection,
    email: Option<String>,
    password: Option<String>,
) -> Result<Option<(String, Option<String>)>, AppError> {
    if users::count(db, Some(Role::CommunityManager)).await? > 0 {
        return Ok(None);
    }
    let email = email.unwrap_or_else(|| "admin@switchyard.local".to_string());
    let generated = create_admin(
        db,
        &Actor::system("first start"),
        NewAdmin {
            email: email.clone(),
            password,
            first_name: "Community".into(),
            last_name: "Manager".into(),
        },
    )
    .await?;
    Ok(Some((email.to_lowercase(), generated)))
}

const FIRST: [&str; 12] = [
    "Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Dennis", "Frances", "Ken", "Radia",
    "Tim", "Hedy",
];
const LAST: [&str; 12] = [
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Turing",
    "Liskov",
    "Ritchie",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
];

/// Loads demo data: teams Customers, Testers and Administrators, `user_count` users spread
/// over them, and one project. Safe to run twice: existing emails are skipped.
pub async fn load_demo_data(db: &DatabaseConnection, user_count: u32) -> Result<u64, AppError> {
    let customers =
        teams::ensure(db, "Customers", "People who use the product in the field").await?;
    let testers = teams::ensure(db, "Testers", "Invited beta testers").await?;
    let admins = teams::ensure(db, "Administrators", "The community's own staff").await?;
    if project::Entity::find().count(db).await? == 0 {
        let aurora = project::ActiveModel {
            name: Set("Aurora Beta".into()),
            key: Set("aurora".into()),
            description: Set("Public beta of the Aurora smart thermostat".into()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await?;
        super::projects::add_demo_types(db, aurora.id, testers).await?;
    }
    let existing = users::count(db, None).await?;
    let mut inserted = 0u64;
    let batch = 500u32;
    let mut start = 0u32;
    while start < user_count {
        let end = (start + batch).min(user_count);
        let (txn, gate) = crate::server::db::begin_write(db).await?;
        let now = Utc::now();
        let mut rows = Vec::new();
        let mut teams_for = Vec::new();
        for i in start..end {
            let n = i as u64 + existing;
            let first = FIRST[(n % 12) as usize];
            let last = LAST[((n / 12) % 12) as usize];
            let email = format!(
                "{}.{}{}@demo.example",
                first.to_lowercase(),
                last.to_lowercase().replace('-', ""),
                n
            );
            let role = if n % 50 == 7 {
                Role::ProjectManager
            } else {
                Role::Participant
            };
            let team = match n % 10 {
                0 => admins,
                1..=3 => testers,
                _ => customers,
            };
            teams_for.push((email.clone(), team));
            rows.push(user::ActiveModel {
                search_text: Set(format!("{email} {first} {last}").to_lowercase()),
                email: Set(email),
                first_name: Set(first.into()),
                last_name: Set(last.into()),
                role: Set(role.key().into()),
                score: Set((n % 97) as i32),
                password_hash: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
        user::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([user::Column::Email])
            .exec(&txn)
            .await?;
        let emails: Vec<String> = teams_for.iter().map(|(e, _)| e.clone()).collect();
        let created = {
            use sea_orm::{ColumnTrait, QueryFilter};
            user::Entity::find()
                .filter(user::Column::Email.is_in(emails))
                .all(&txn)
                .await?
        };
        let memberships: Vec<team_membership::ActiveModel> = created
            .iter()
            .filter_map(|u| {
                let team = teams_for.iter().find(|(e, _)| *e == u.email)?.1;
                Some(team_membership::ActiveModel {
                    user_id: Set(u.id),
                    team_id: Set(team),
                    created_at: Set(now),
                })
            })
            .collect();
        if !memberships.is_empty() {
            team_membership::Entity::insert_many(memberships)
                .on_conflict_do_nothing()
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        drop(gate);
        inserted += (end - start) as u64;
        start = end;
    }
    audit_trail::record(
        db,
        &Actor::system("demo data"),
        "demo.loaded",
        "community",
        &format!("{inserted} users"),
    )
    .await?;
    Ok(inserted)
}

/// The dashboard as `actor` sees it: the figures, their "Get started" checklist, and the recent
/// audit entries for community managers (the audit log is theirs, here as on its own screen).
pub async fn dashboard(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<DashboardStats, AppError> {
    let with_audit = actor.role == Some(Role::CommunityManager);
    let community = community::Entity::find().one(db).await?;
    let managers = users::count(db, Some(Role::CommunityManager)).await?
        + users::count(db, Some(Role::ProjectManager)).await?;
    Ok(DashboardStats {
        community_name: community.map(|c| c.name).unwrap_or_default(),
        users: users::count(db, None).await?,
        managers,
        teams: crate::server::store::lookups::team_refs(db).await?.len() as u64,
        projects: project::Entity::find().count(db).await?,
        recent: if with_audit {
            Some(audit::recent(db, 10).await?)
        } else {
            None
        },
        get_started: super::get_started::checklist(db, actor).await?,
        alerts: open_alerts(db).await?,
    })
}

/// The open alerts, newest first (at most 20).
async fn open_alerts(db: &impl ConnectionTrait) -> Result<Vec<crate::types::AlertView>, AppError> {
    use crate::server::entities::alert;
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    Ok(alert::Entity::find()
        .filter(alert::Column::ResolvedAt.is_null())
        .order_by_desc(alert::Column::Id)
        .limit(20)
        .all(db)
        .await?
        .into_iter()
        .map(|a| crate::types::AlertView {
            id: a.id,
            href: match (a.webhook_id, a.listener_id) {
                (Some(id), _) => format!("/webhooks/{id}"),
                (_, Some(id)) => format!("/listeners/{id}"),
                _ => "/".into(),
            },
            kind: a.kind,
            message: a.message,
            created_at: super::format_time(&a.created_at),
        })
        .collect())
}

/// Dismisses an open alert (it stays resolved; a new streak raises a new one).
#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn dismiss_alert(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
) -> Result<(), AppError> {
    use crate::server::entities::alert;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    // An alert about a removal's webhook or listener is the community manager's to dismiss.
    if let Some(a) = alert::Entity::find_by_id(id).one(db).await? {
        let macro_id = match (a.webhook_id, a.listener_id) {
            (Some(w), _) => crate::server::entities::webhook::Entity::find_by_id(w)
                .one(db)
                .await?
                .map(|w| w.macro_id),
            (None, Some(l)) => crate::server::entities::listener::Entity::find_by_id(l)
                .one(db)
                .await?
                .and_then(|l| l.macro_id),
            _ => None,
        };
        if let Some(m) = macro_id {
            super::refuse_removal_to_project_managers(actor, super::macro_removes(db, m).await?)?;
        }
    }
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let done = alert::Entity::update_many()
        .col_expr(alert::Column::ResolvedAt, Expr::value(chrono::Utc::now()))
        .filter(alert::Column::Id.eq(id))
        .filter(alert::Column::ResolvedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if done > 0 {
        audit_trail::record(&txn, actor, "alert.dismissed", &format!("alert {id}"), "").await?;
    }
    txn.commit().await?;
    drop(gate);
    Ok(())
}
