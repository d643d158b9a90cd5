//! The stock book: items, how many are left, and who reserved what.

use std::collections::BTreeMap;

use tokio::sync::Mutex;

use crate::pb::{Reservation, Stock};

/// Longest item name accepted.
pub const MAX_ITEM_LEN: usize = 64;
/// Largest quantity one reservation may take.
pub const MAX_QUANTITY: u32 = 1000;
/// Most reservations kept; the demo is not a ledger, older ones are forgotten first.
const MAX_RESERVATIONS: usize = 10_000;

/// Why a reservation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    /// No such item.
    #[error("unknown item {0:?}")]
    UnknownItem(String),
    /// The quantity is zero or above [`MAX_QUANTITY`], or the item name is too long.
    #[error("invalid request: {0}")]
    Invalid(&'static str),
    /// Fewer items left than asked for.
    #[error("only {available} of {item:?} left")]
    OutOfStock {
        /// The item.
        item: String,
        /// How many are left.
        available: u32,
    },
}

#[derive(Debug, Default)]
struct Book {
    available: BTreeMap<String, u32>,
    reserved: BTreeMap<String, u32>,
    reservations: Vec<Reservation>,
    next_id: u64,
}

/// Stock levels and reservations, in memory.
#[derive(Debug, Default)]
pub struct StockBook {
    book: Mutex<Book>,
}

impl StockBook {
    /// A book holding `items` with their quantities.
    pub fn new<'a>(items: impl IntoIterator<Item = (&'a str, u32)>) -> Self {
        let available = items.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        StockBook {
            book: Mutex::new(Book {
                available,
                next_id: 1,
                ..Book::default()
            }),
        }
    }

    /// The demo's shelves: plenty of tea and coffee, only three mugs (to see "out of stock").
    pub fn demo() -> Self {
        Self::new([("tea", 100), ("coffee", 50), ("mug", 3)])
    }

    /// The stock of `item`.
    pub async fn stock(&self, item: &str) -> Option<Stock> {
        let book = self.book.lock().await;
        let available = *book.available.get(item)?;
        Some(Stock {
            item: item.to_owned(),
            available,
            reserved: book.reserved.get(item).copied().unwrap_or(0),
        })
    }

    /// Takes `quantity` of `item` out of stock for `subject`.
    pub async fn reserve(
        &self,
        item: &str,
        quantity: u32,
        subject: &str,
    ) -> Result<Reservation, ReserveError> {
        if item.len() > MAX_ITEM_LEN {
            return Err(ReserveError::Invalid("item name too long"));
        }
        if quantity == 0 || quantity > MAX_QUANTITY {
            return Err(ReserveError::Invalid("quantity must be 1 to 1000"));
        }
        let mut book = self.book.lock().await;
        let Some(available) = book.available.get_mut(item) else {
            return Err(ReserveError::UnknownItem(item.to_owned()));
        };
        if *available < quantity {
            return Err(ReserveError::OutOfStock {
                item: item.to_owned(),
                available: *available,
            });
        }
        *available -= quantity;
        *book.reserved.entry(item.to_owned()).or_default() += quantity;
        let reservation = Reservation {
            id: book.next_id,
            item: item.to_owned(),
            quantity,
            reserved_by: subject.to_owned(),
        };
        book.next_id += 1;
        if book.reservations.len() >= MAX_RESERVATIONS {
            book.reservations.remove(0);
        }
        book.reservations.push(reservation.clone());
        Ok(reservation)
    }

    /// Reservations made by `subject`, or all of them when `subject` is `None`.
    pub async fn reservations(&self, subject: Option<&str>) -> Vec<Reservation> {
        let book = self.book.lock().await;
        book.reservations
            .iter()
            .filter(|r| subject.is_none_or(|s| r.reserved_by == s))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_take_stock_and_record_who() {
        let book = StockBook::new([("mug", 3)]);
        let first = book.reserve("mug", 2, "alice").await.unwrap();
        assert_eq!(first.reserved_by, "alice");
        assert_eq!(
            book.reserve("mug", 2, "bob").await,
            Err(ReserveError::OutOfStock {
                item: "mug".into(),
                available: 1
            })
        );
        assert!(matches!(
            book.reserve("cup", 1, "bob").await,
            Err(ReserveError::UnknownItem(_))
        ));
        assert!(matches!(
            book.reserve("mug", 0, "bob").await,
            Err(ReserveError::Invalid(_))
        ));
        let stock = book.stock("mug").await.unwrap();
        assert_eq!((stock.available, stock.reserved), (1, 2));
        assert_eq!(book.reservations(Some("bob")).await.len(), 0);
        assert_eq!(book.reservations(None).await.len(), 1);
    }
}
