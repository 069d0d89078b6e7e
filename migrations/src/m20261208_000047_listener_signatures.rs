use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Signed calls to a listener (`domain::inbound_signature`): `signature_scheme` (empty: none;
/// `standard_webhooks`, `github`, `atlassian`, `stripe`, `slack`), the shared secret sealed
/// with the installation's key, and the secret it replaced, which still passes until
/// `old_secret_until` (a rotation's overlap).
#[derive(DeriveIden)]
enum Listeners {
    Table,
    SignatureScheme,
    SigningSecret,
    OldSigningSecret,
    OldSecretUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            ColumnDef::new(Listeners::SignatureScheme)
                .string_len(30)
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(Listeners::SigningSecret)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(Listeners::OldSigningSecret)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(Listeners::OldSecretUntil)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Listeners::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Listeners::SignatureScheme,
            Listeners::SigningSecret,
            Listeners::OldSigningSecret,
            Listeners::OldSecretUntil,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Listeners::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
