import GRDB

/// The journal schema as an append-only timeline of migrations (GRDB's DatabaseMigrator).
///
/// Shipped migrations are never edited; a change is a new migration. Literal table names,
/// not Swift types, so an old migration never changes meaning. The schema enforces what it
/// can: primary keys make a ceremony id and a (ceremony, seq) pair unique, and triggers
/// refuse UPDATE and DELETE, so the tool itself cannot rewrite history through SQL.
enum JournalMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-ceremony-and-entry") { db in
            try db.execute(sql: """
                CREATE TABLE ceremony (
                    id TEXT PRIMARY KEY NOT NULL,
                    scriptName TEXT NOT NULL,
                    scriptSHA256 TEXT NOT NULL,
                    practice INTEGER NOT NULL CHECK (practice IN (0, 1)),
                    createdAt TEXT NOT NULL
                );
                CREATE TABLE entry (
                    ceremonyId TEXT NOT NULL REFERENCES ceremony(id),
                    seq INTEGER NOT NULL CHECK (seq >= 1),
                    time TEXT NOT NULL,
                    act TEXT NOT NULL,
                    step TEXT NOT NULL,
                    role TEXT NOT NULL,
                    event TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    prevHash TEXT NOT NULL,
                    hash TEXT NOT NULL UNIQUE,
                    PRIMARY KEY (ceremonyId, seq)
                );
                CREATE TRIGGER ceremony_append_only_update BEFORE UPDATE ON ceremony
                    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
                CREATE TRIGGER ceremony_append_only_delete BEFORE DELETE ON ceremony
                    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
                CREATE TRIGGER entry_append_only_update BEFORE UPDATE ON entry
                    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
                CREATE TRIGGER entry_append_only_delete BEFORE DELETE ON entry
                    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
                """)
        }
        return migrator
    }
}
