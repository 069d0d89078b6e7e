use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Signed calls to an external source, as to a listener (migration 47): `signature_scheme`
/// (empty: none), the shared secret sealed with the installation's key, and the secret it
/// replaced, which still passes until `old_secret_until`; and `listening_until`: *Listen for a
/// test call* on the source's page, as on a listener's (migration 50).
#[derive(DeriveIden)]
enum ExternalSources {
    Table,
    SignatureScheme,
    SigningSecret,
    OldSigningSecret,
    OldSecretUntil,
    ListeningUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            ColumnDef::new(ExternalSources::SignatureScheme)
                .string_len(30)
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(ExternalSources::SigningSecret)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(ExternalSources::OldSigningSecret)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(ExternalSources::OldSecretUntil)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(ExternalSources::ListeningUntil)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ExternalSources::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ExternalSources::SignatureScheme,
            ExternalSources::SigningSecret,
            ExternalSources::OldSigningSecret,
            ExternalSources::OldSecretUntil,
            ExternalSources::ListeningUntil,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ExternalSources::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
