//! The embedded store's tables and their encodings.
//!
//! Hot rows (balances, orders, indexes) are fixed-width tuples so a bet or a
//! payout costs no JSON; users and matches, read far less often, are JSON.

use redb::{ReadableTable, StorageError, Table, TableDefinition, WriteTransaction};

use crate::error::BetError;
use crate::model::{Match, Order, OrderStatus, User};

/// uid → user (JSON).
pub(super) const USERS: TableDefinition<'_, u64, &str> = TableDefinition::new("users");
/// name → uid.
pub(super) const USER_NAMES: TableDefinition<'_, &str, u64> = TableDefinition::new("user_names");
/// uid → balance in coins.
pub(super) const BALANCES: TableDefinition<'_, u64, u64> = TableDefinition::new("balances");
/// match id → match (JSON).
pub(super) const MATCHES: TableDefinition<'_, u64, &str> = TableDefinition::new("matches");
/// order id → order row.
pub(super) const ORDERS: TableDefinition<'_, u64, OrderRow> = TableDefinition::new("orders");
/// (match id, order id) of every open order: what settlement still owes.
/// Removing an order from here, in the transaction that credits it, is the
/// exactly-once marker.
pub(super) const OPEN_ORDERS: TableDefinition<'_, (u64, u64), ()> = TableDefinition::new("open_orders");
/// (uid, order id): a user's orders, for "my bets".
pub(super) const USER_ORDERS: TableDefinition<'_, (u64, u64), ()> = TableDefinition::new("user_orders");
/// (match id, uid): who bet on a match, for state pushes.
pub(super) const BETTORS: TableDefinition<'_, (u64, u64), ()> = TableDefinition::new("match_bettors");
/// Counters: next ids and coins ever credited.
/// Feed id → match id: the datacenter's imports (`feed/`).
pub(super) const FEED_IDS: TableDefinition<'_, &str, u64> = TableDefinition::new("feed_ids");
pub(super) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

pub(super) const NEXT_UID: &str = "next_uid";
pub(super) const NEXT_MATCH: &str = "next_match";
pub(super) const CREDITED: &str = "credited";

/// (match, uid, option, amount, status, payout, placed_at).
pub(super) type OrderRow = (u64, u64, u32, u64, u8, u64, u64);

pub(super) fn order_from_row(id: u64, row: OrderRow) -> Result<Order, BetError> {
    let (match_id, uid, option, amount, status, payout, placed_at) = row;
    let status = OrderStatus::try_from(status).map_err(BetError::Storage)?;
    Ok(Order { id, match_id, uid, option, amount, status, payout, placed_at })
}

pub(super) fn order_row(order: &Order) -> OrderRow {
    (order.match_id, order.uid, order.option, order.amount, order.status as u8, order.payout, order.placed_at)
}

pub(super) fn decode_match(text: &str) -> Result<Match, BetError> {
    serde_json::from_str(text).map_err(|e| BetError::Storage(format!("corrupt match record: {e}")))
}

pub(super) fn decode_user(text: &str) -> Result<User, BetError> {
    serde_json::from_str(text).map_err(|e| BetError::Storage(format!("corrupt user record: {e}")))
}

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<String, BetError> {
    serde_json::to_string(value).map_err(BetError::storage)
}

/// Every table, open for one write transaction (one batch), plus the
/// matches the batch has read, so that a thousand bets on one match decode
/// it once.
pub(super) struct Tables<'t> {
    pub(super) users: Table<'t, u64, &'static str>,
    pub(super) user_names: Table<'t, &'static str, u64>,
    pub(super) balances: Table<'t, u64, u64>,
    pub(super) matches: Table<'t, u64, &'static str>,
    pub(super) orders: Table<'t, u64, OrderRow>,
    pub(super) open_orders: Table<'t, (u64, u64), ()>,
    pub(super) user_orders: Table<'t, (u64, u64), ()>,
    pub(super) bettors: Table<'t, (u64, u64), ()>,
    pub(super) meta: Table<'t, &'static str, u64>,
    pub(super) feed_ids: Table<'t, &'static str, u64>,
    cache: std::collections::HashMap<u64, Match>,
}

impl<'t> Tables<'t> {
    pub(super) fn open(txn: &'t WriteTransaction) -> Result<Tables<'t>, BetError> {
        let s = BetError::storage;
        Ok(Tables {
            users: txn.open_table(USERS).map_err(s)?,
            user_names: txn.open_table(USER_NAMES).map_err(s)?,
            balances: txn.open_table(BALANCES).map_err(s)?,
            matches: txn.open_table(MATCHES).map_err(s)?,
            orders: txn.open_table(ORDERS).map_err(s)?,
            open_orders: txn.open_table(OPEN_ORDERS).map_err(s)?,
            user_orders: txn.open_table(USER_ORDERS).map_err(s)?,
            bettors: txn.open_table(BETTORS).map_err(s)?,
            meta: txn.open_table(META).map_err(s)?,
            feed_ids: txn.open_table(FEED_IDS).map_err(s)?,
            cache: std::collections::HashMap::new(),
        })
    }

    /// The match `id`, from this batch's cache or the table.
    pub(super) fn load_match(&mut self, id: u64) -> Result<Match, BetError> {
        if let Some(m) = self.cache.get(&id) {
            return Ok(m.clone());
        }
        let m = match self.matches.get(id).map_err(BetError::storage)? {
            Some(text) => decode_match(text.value())?,
            None => return Err(BetError::MatchNotFound(id)),
        };
        self.cache.insert(id, m.clone());
        Ok(m)
    }

    /// The state of match `id` without cloning its options (the bet path).
    pub(super) fn with_match<R>(&mut self, id: u64, f: impl FnOnce(&Match) -> R) -> Result<R, BetError> {
        if !self.cache.contains_key(&id) {
            self.load_match(id)?;
        }
        // Present: loaded just above.
        Ok(f(&self.cache[&id]))
    }

    pub(super) fn save_match(&mut self, m: Match) -> Result<(), BetError> {
        self.matches.insert(m.id, encode(&m)?.as_str()).map_err(BetError::storage)?;
        self.cache.insert(m.id, m);
        Ok(())
    }

    pub(super) fn balance(&self, uid: u64) -> Result<u64, BetError> {
        Ok(self.balances.get(uid).map_err(BetError::storage)?.map_or(0, |v| v.value()))
    }

    pub(super) fn set_balance(&mut self, uid: u64, balance: u64) -> Result<(), BetError> {
        self.balances.insert(uid, balance).map_err(BetError::storage)?;
        Ok(())
    }

    pub(super) fn counter(&self, key: &str) -> Result<u64, BetError> {
        Ok(self.meta.get(key).map_err(BetError::storage)?.map_or(0, |v| v.value()))
    }

    pub(super) fn set_counter(&mut self, key: &str, value: u64) -> Result<(), BetError> {
        self.meta.insert(key, value).map_err(BetError::storage)?;
        Ok(())
    }

    /// Adds to the coins ever credited.
    pub(super) fn add_credited(&mut self, amount: u64) -> Result<(), BetError> {
        let total = self
            .counter(CREDITED)?
            .checked_add(amount)
            .ok_or_else(|| BetError::invalid("amount", "total credit would overflow"))?;
        self.set_counter(CREDITED, total)
    }
}

/// Creates every table, so read transactions can open them before the
/// first write.
pub(super) fn create_all(txn: &WriteTransaction) -> Result<(), BetError> {
    Tables::open(txn).map(drop)
}

impl From<StorageError> for BetError {
    fn from(err: StorageError) -> BetError {
        BetError::storage(err)
    }
}
