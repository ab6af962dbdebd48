//! The embedded store's writes, each applied inside a batch's transaction.
//!
//! Every function checks everything that can refuse the request before it
//! writes anything: a refused request leaves the batch's transaction as it
//! found it, so the other requests of the batch commit unaffected. Only a
//! storage error (the disk) aborts the whole batch.

use redb::ReadableTable;

use super::tables::{CREDITED, NEXT_MATCH, NEXT_UID, Tables, encode, order_from_row, order_row};
use crate::error::BetError;
use crate::feed::{Imported, Plan, plan};
use crate::model::{
    MAX_STAKE, Match, NewBet, NewMatch, Order, OrderStatus, Payout, PayoutBatch, Placed, User, check_name,
};
use crate::state::Action;

pub(super) fn create_user(t: &mut Tables<'_>, name: &str, hash: &str, bonus: u64) -> Result<User, BetError> {
    check_name("name", name)?;
    if t.user_names.get(name)?.is_some() {
        return Err(BetError::NameTaken(name.to_owned()));
    }
    let uid = t.counter(NEXT_UID)? + 1;
    t.counter(CREDITED)?
        .checked_add(bonus)
        .ok_or_else(|| BetError::invalid("bonus", "total credit would overflow"))?;
    let user = User { uid, name: name.to_owned(), password_hash: hash.to_owned() };
    t.users.insert(uid, encode(&user)?.as_str())?;
    t.user_names.insert(name, uid)?;
    t.set_balance(uid, bonus)?;
    t.set_counter(NEXT_UID, uid)?;
    t.add_credited(bonus)?;
    Ok(user)
}

pub(super) fn credit(t: &mut Tables<'_>, name: &str, amount: u64) -> Result<u64, BetError> {
    if amount == 0 {
        return Err(BetError::invalid("amount", "must be at least 1"));
    }
    let uid =
        t.user_names.get(name)?.map(|v| v.value()).ok_or_else(|| BetError::UserNotFound(name.to_owned()))?;
    let balance = t
        .balance(uid)?
        .checked_add(amount)
        .ok_or_else(|| BetError::invalid("amount", "the balance would overflow"))?;
    t.counter(CREDITED)?
        .checked_add(amount)
        .ok_or_else(|| BetError::invalid("amount", "total credit would overflow"))?;
    t.set_balance(uid, balance)?;
    t.add_credited(amount)?;
    Ok(balance)
}

pub(super) fn create_match(t: &mut Tables<'_>, spec: &NewMatch) -> Result<Match, BetError> {
    let id = t.counter(NEXT_MATCH)? + 1;
    let m = Match::from_spec(id, spec)?;
    t.set_counter(NEXT_MATCH, id)?;
    t.save_match(m.clone())?;
    Ok(m)
}

pub(super) fn import_match(t: &mut Tables<'_>, feed_id: &str, spec: &NewMatch) -> Result<Imported, BetError> {
    let id = t.feed_ids.get(feed_id).map_err(BetError::storage)?.map(|v| v.value());
    let existing = match id {
        Some(id) => Some(t.load_match(id)?),
        None => None,
    };
    Ok(match (plan(existing.as_ref(), spec)?, existing) {
        (Plan::Create, _) => {
            let m = create_match(t, spec)?;
            t.feed_ids.insert(feed_id, m.id).map_err(BetError::storage)?;
            Imported::Created(m)
        }
        (Plan::Update(m), _) => {
            t.save_match(m.clone())?;
            Imported::Updated(m)
        }
        (Plan::Unchanged, Some(m)) => Imported::Unchanged(m),
        (Plan::Locked, Some(m)) => Imported::Locked(m),
        (_, None) => return Err(BetError::Storage("import plan without its match".into())),
    })
}

pub(super) fn transition(
    t: &mut Tables<'_>,
    id: u64,
    action: Action,
    result: Option<&str>,
) -> Result<Match, BetError> {
    let mut m = t.load_match(id)?;
    let next = m.state.next(action).map_err(|e| BetError::transition(id, e))?;
    match (action, result) {
        (Action::SetResult, Some(option)) => m.result = Some(m.option_index(option)?),
        (Action::SetResult, None) => {
            return Err(BetError::invalid("option", "a result names the winning option"));
        }
        (_, Some(_)) => {
            return Err(BetError::invalid("option", format!("only a result names an option, not {action}")));
        }
        (_, None) => {}
    }
    m.state = next;
    t.save_match(m.clone())?;
    Ok(m)
}

pub(super) fn place_bet(t: &mut Tables<'_>, bet: &NewBet) -> Result<Placed, BetError> {
    if !(1..=MAX_STAKE).contains(&bet.amount) {
        return Err(BetError::invalid("amount", format!("must be between 1 and {MAX_STAKE}")));
    }
    let option = t.with_match(bet.match_id, |m| {
        if !m.state.accepts_bets() || crate::model::has_started(m.start_time, bet.placed_at) {
            return Err(BetError::BettingClosed { id: m.id, state: m.state });
        }
        m.option_index(&bet.option)
    })??;
    let balance = t.balance(bet.uid)?;
    if balance < bet.amount {
        return Err(BetError::InsufficientBalance { balance, amount: bet.amount });
    }
    if t.orders.get(bet.order_id)?.is_some() {
        // Ids are unique by construction; refusing beats overwriting money.
        return Err(BetError::invalid("order_id", format!("{} is already used", bet.order_id)));
    }
    let order = Order {
        id: bet.order_id,
        match_id: bet.match_id,
        uid: bet.uid,
        option,
        amount: bet.amount,
        status: OrderStatus::Open,
        payout: 0,
        placed_at: bet.placed_at,
    };
    let balance = balance - bet.amount;
    t.set_balance(bet.uid, balance)?;
    t.orders.insert(order.id, order_row(&order))?;
    t.open_orders.insert((order.match_id, order.id), ())?;
    t.user_orders.insert((order.uid, order.id), ())?;
    t.bettors.insert((order.match_id, order.uid), ())?;
    Ok(Placed { order, balance })
}

pub(super) fn pay_out(t: &mut Tables<'_>, match_id: u64, limit: usize) -> Result<PayoutBatch, BetError> {
    let mut m = t.load_match(match_id)?;
    let Some(finish) = m.state.payout_finish().map_err(|e| BetError::transition(match_id, e))? else {
        return Ok(PayoutBatch { payouts: Vec::new(), state: m.state });
    };
    let due: Vec<u64> = t
        .open_orders
        .range((match_id, 0)..=(match_id, u64::MAX))?
        .take(limit)
        .map(|entry| entry.map(|(k, _)| k.value().1))
        .collect::<Result<_, _>>()?;
    let mut payouts = Vec::with_capacity(due.len());
    for order_id in due {
        let row = t.orders.get(order_id)?.map(|v| v.value());
        let Some(row) = row else {
            return Err(BetError::Storage(format!("open order {order_id} has no order row")));
        };
        let mut order = order_from_row(order_id, row)?;
        let (status, credit) = order.closing(&m, finish);
        let balance = t
            .balance(order.uid)?
            .checked_add(credit)
            .ok_or_else(|| BetError::Storage(format!("balance of user {} would overflow", order.uid)))?;
        order.status = status;
        order.payout = credit;
        t.set_balance(order.uid, balance)?;
        t.orders.insert(order_id, order_row(&order))?;
        t.open_orders.remove((match_id, order_id))?;
        payouts.push(Payout {
            order_id,
            match_id,
            uid: order.uid,
            stake: order.amount,
            payout: credit,
            balance,
            status,
        });
    }
    if t.open_orders.range((match_id, 0)..=(match_id, u64::MAX))?.next().is_none() {
        m.state = m.state.next(finish).map_err(|e| BetError::transition(match_id, e))?;
        t.save_match(m.clone())?;
    }
    Ok(PayoutBatch { payouts, state: m.state })
}
