//! Orders in an embedded SQLite database file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension as _, Row, params};
use serde::Serialize;
use tokio::sync::Mutex;

/// Most orders one listing returns (newest first).
const MAX_LISTED: u32 = 100;

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The blocking task running the query died.
    #[error("database task failed")]
    Task,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// Its id.
    pub id: i64,
    /// What was ordered.
    pub item: String,
    /// How many.
    pub quantity: u32,
    /// The subject of the caller who placed it, from the identity context.
    pub created_by: String,
    /// The inventory's reservation id.
    pub reservation_id: i64,
    /// The subject the inventory service saw in the gRPC metadata of the reservation.
    pub reserved_by: String,
    /// When it was placed, in seconds since the Unix epoch.
    pub created_at: i64,
}

/// What a new order records.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// What was ordered.
    pub item: String,
    /// How many.
    pub quantity: u32,
    /// The caller's subject.
    pub created_by: String,
    /// The inventory's reservation id.
    pub reservation_id: i64,
    /// Who the inventory saw.
    pub reserved_by: String,
}

/// The order table. rusqlite is blocking, so every query runs on the blocking pool, one at a
/// time (one connection; SQLite serialises writers anyway).
#[derive(Debug, Clone)]
pub struct OrderStore {
    connection: Arc<Mutex<Connection>>,
}

impl OrderStore {
    /// Opens (creating if needed) the database file at `path`.
    pub async fn open(path: PathBuf) -> Result<Self, StoreError> {
        let connection = tokio::task::spawn_blocking(move || {
            let connection = Connection::open(path)?;
            connection.execute_batch(
                "CREATE TABLE IF NOT EXISTS orders (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     item TEXT NOT NULL,
                     quantity INTEGER NOT NULL,
                     created_by TEXT NOT NULL,
                     reservation_id INTEGER NOT NULL,
                     reserved_by TEXT NOT NULL,
                     created_at INTEGER NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS orders_by_creator ON orders (created_by, id);",
            )?;
            Ok::<_, StoreError>(connection)
        })
        .await
        .map_err(|_| StoreError::Task)??;
        Ok(OrderStore {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || query(&connection.blocking_lock()))
            .await
            .map_err(|_| StoreError::Task)?
            .map_err(StoreError::from)
    }

    /// Stores `order` and returns it with its id.
    pub async fn create(&self, order: NewOrder) -> Result<Order, StoreError> {
        let created_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.with(move |db| {
            db.execute(
                "INSERT INTO orders (item, quantity, created_by, reservation_id, reserved_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    order.item,
                    order.quantity,
                    order.created_by,
                    order.reservation_id,
                    order.reserved_by,
                    created_at
                ],
            )?;
            Ok(Order {
                id: db.last_insert_rowid(),
                item: order.item,
                quantity: order.quantity,
                created_by: order.created_by,
                reservation_id: order.reservation_id,
                reserved_by: order.reserved_by,
                created_at,
            })
        })
        .await
    }

    /// The newest orders of `owner`, or of everyone when `owner` is `None`.
    pub async fn list(&self, owner: Option<String>) -> Result<Vec<Order>, StoreError> {
        self.with(move |db| {
            let mut statement = db.prepare(
                "SELECT id, item, quantity, created_by, reservation_id, reserved_by, created_at
                 FROM orders WHERE ?1 IS NULL OR created_by = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = statement.query_map(params![owner, MAX_LISTED], order_from_row)?;
            rows.collect()
        })
        .await
    }

    /// The order with `id`.
    pub async fn get(&self, id: i64) -> Result<Option<Order>, StoreError> {
        self.with(move |db| {
            db.query_row(
                "SELECT id, item, quantity, created_by, reservation_id, reserved_by, created_at
                 FROM orders WHERE id = ?1",
                params![id],
                order_from_row,
            )
            .optional()
        })
        .await
    }
}

fn order_from_row(row: &Row<'_>) -> rusqlite::Result<Order> {
    Ok(Order {
        id: row.get(0)?,
        item: row.get(1)?,
        quantity: row.get(2)?,
        created_by: row.get(3)?,
        reservation_id: row.get(4)?,
        reserved_by: row.get(5)?,
        created_at: row.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(by: &str) -> NewOrder {
        NewOrder {
            item: "tea".into(),
            quantity: 2,
            created_by: by.into(),
            reservation_id: 1,
            reserved_by: by.into(),
        }
    }

    #[tokio::test]
    async fn orders_survive_reopening_and_list_by_owner() {
        let path = std::env::temp_dir().join(format!("orders-{}.sqlite", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let store = OrderStore::open(path.clone()).await.unwrap();
        let mine = store.create(order("alice")).await.unwrap();
        store.create(order("bob")).await.unwrap();
        drop(store);

        let store = OrderStore::open(path.clone()).await.unwrap();
        assert_eq!(store.get(mine.id).await.unwrap(), Some(mine.clone()));
        assert_eq!(store.list(Some("alice".into())).await.unwrap(), [mine]);
        assert_eq!(store.list(None).await.unwrap().len(), 2);
        assert_eq!(store.get(999).await.unwrap(), None);
        std::fs::remove_file(&path).unwrap();
    }
}
