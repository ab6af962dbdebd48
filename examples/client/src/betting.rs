//! The betting app's client commands and admin API (docs/betting.md).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

use crate::client::Client;
use crate::error::ClientError;
use crate::event::Push;

/// Command and push ids of the betting app.
pub mod commands {
    /// Log in (or sign up).
    pub const LOGIN: i32 = 100002;
    /// List matches.
    pub const LIST: i32 = 100010;
    /// One match.
    pub const DETAIL: i32 = 100011;
    /// Place a bet.
    pub const BET: i32 = 100020;
    /// The user's orders.
    pub const MY_BETS: i32 = 100021;
    /// The user's balance.
    pub const BALANCE: i32 = 100030;
    /// Push: a match the user bet on changed state.
    pub const STATE_CHANGED: i32 = 100100;
    /// Push: one of the user's orders was settled.
    pub const SETTLED: i32 = 100101;
}

/// The 100002 reply.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LoggedIn {
    /// User id.
    pub uid: u64,
    /// User name.
    pub name: String,
    /// Coins.
    pub balance: u64,
}

/// An option of a match.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MatchOption {
    /// Its name.
    pub name: String,
    /// Decimal odds.
    pub odds: f64,
}

/// A match as clients and the admin API see it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Match {
    /// Id.
    pub id: u64,
    /// Type (`football`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Home side.
    pub home: String,
    /// Away side.
    pub away: String,
    /// Unix seconds.
    pub start_time: u64,
    /// `iGuessState`.
    pub state: u8,
    /// Options and odds.
    pub options: Vec<MatchOption>,
    /// The winning option, once known.
    pub result: Option<String>,
}

/// The 100020 reply.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Placed {
    /// Decimal string (64-bit ids exceed JavaScript numbers).
    pub order_id: String,
    /// The balance after the stake.
    pub balance: u64,
}

/// One of the user's orders (100021).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Order {
    /// Order id.
    pub order_id: String,
    /// Match id.
    pub match_id: u64,
    /// The option bet on.
    pub option: String,
    /// Stake.
    pub amount: u64,
    /// `iGuessState` of the order.
    pub status: u8,
    /// Payout, once won.
    pub payout: u64,
}

/// The settlement push (100101).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Settlement {
    /// Order id.
    pub order_id: String,
    /// Match id.
    pub match_id: u64,
    /// Stake.
    pub stake: u64,
    /// Coins paid (0 when lost).
    pub payout: u64,
    /// The balance after it.
    pub balance: u64,
    /// 4 lost, 9 won, 8 refunded.
    pub status: u8,
}

/// The betting service's money audit (`GET /gm/audit`, docs/betting.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audit {
    /// Coins ever credited (sign-up bonuses included).
    pub credited: i128,
    /// Sum of every balance.
    pub balances: i128,
    /// Stakes of open orders.
    pub open_stakes: i128,
    /// Stakes lost minus winnings paid (may be negative).
    pub house: i128,
    /// Open orders.
    pub open_orders: u64,
    /// Open orders found through the settlement index.
    pub indexed_open: u64,
    /// The service's verdict: money conserved and the index consistent.
    pub balanced: bool,
}

/// A bettor's commands over a [`Client`].
#[derive(Debug, Clone)]
pub struct Bettor {
    client: Client,
}

impl Bettor {
    /// Wraps a connected client.
    pub fn new(client: Client) -> Self {
        Bettor { client }
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Logs in, creating the user on first login.
    ///
    /// # Errors
    /// 6002 for a wrong password, and the client's errors.
    pub async fn login(&self, name: &str, password: &str) -> Result<LoggedIn, ClientError> {
        self.client.request_as(commands::LOGIN, &json!({ "name": name, "password": password })).await
    }

    /// Matches by type (`None`: all) and status (`"doing"`, `"finished"`, `"all"`).
    ///
    /// # Errors
    /// The client's errors.
    pub async fn matches(&self, kind: Option<&str>, status: &str) -> Result<Vec<Match>, ClientError> {
        let mut body = json!({ "status": status });
        if let Some(kind) = kind {
            body["type"] = json!(kind);
        }
        let reply: Value = self.client.request(commands::LIST, &body).await?;
        Ok(serde_json::from_value(reply["matches"].clone())?)
    }

    /// Bets `amount` on `option`.
    ///
    /// # Errors
    /// 6012 betting not open, 6013 no such option, 6014 insufficient
    /// balance, and the client's errors.
    pub async fn bet(&self, match_id: u64, option: &str, amount: u64) -> Result<Placed, ClientError> {
        let body = json!({ "match_id": match_id, "option": option, "amount": amount });
        self.client.request_as(commands::BET, &body).await
    }

    /// The newest orders first.
    ///
    /// # Errors
    /// The client's errors.
    pub async fn my_bets(&self) -> Result<Vec<Order>, ClientError> {
        let reply: Value = self.client.request(commands::MY_BETS, &json!({})).await?;
        Ok(serde_json::from_value(reply["orders"].clone())?)
    }

    /// The balance.
    ///
    /// # Errors
    /// The client's errors.
    pub async fn balance(&self) -> Result<u64, ClientError> {
        let reply: Value = self.client.request(commands::BALANCE, &json!({})).await?;
        Ok(serde_json::from_value(reply["balance"].clone())?)
    }

    /// Waits for the next settlement push on `pushes` (from
    /// [`Client::pushes`], subscribed before it could be sent).
    ///
    /// # Errors
    /// [`ClientError::Timeout`] after `within`; [`ClientError::Closed`].
    pub async fn next_settlement(
        pushes: &mut broadcast::Receiver<Push>,
        within: Duration,
    ) -> Result<Settlement, ClientError> {
        let wait = async {
            loop {
                match pushes.recv().await {
                    Ok(push) if push.command == commands::SETTLED => {
                        return Ok(serde_json::from_value(push.body)?);
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return Err(ClientError::Closed),
                }
            }
        };
        tokio::time::timeout(within, wait)
            .await
            .unwrap_or(Err(ClientError::Timeout { command: commands::SETTLED, after: within }))
    }
}

/// The admin API on the betting service's HTTP port, with its bearer token.
#[derive(Debug, Clone)]
pub struct Admin {
    addr: String,
    token: String,
}

impl Admin {
    /// `addr` is `host:port` of the betting service's HTTP port.
    pub fn new(addr: impl Into<String>, token: impl Into<String>) -> Self {
        Admin { addr: addr.into(), token: token.into() }
    }

    /// Creates a match (state 0) starting `start_time` (Unix seconds).
    ///
    /// # Errors
    /// 6003 for an invalid field, 6020 for a wrong token.
    pub async fn create(
        &self,
        kind: &str,
        home: &str,
        away: &str,
        start_time: u64,
        options: &[(&str, f64)],
    ) -> Result<Match, ClientError> {
        let options: Vec<Value> =
            options.iter().map(|(name, odds)| json!({ "name": name, "odds": odds })).collect();
        let body =
            json!({ "type": kind, "home": home, "away": away, "start_time": start_time, "options": options });
        Ok(serde_json::from_value(self.call("POST", "/gm/matches", Some(body)).await?)?)
    }

    /// Every match, unapproved ones too.
    ///
    /// # Errors
    /// As [`Admin::create`].
    pub async fn matches(&self) -> Result<Vec<Match>, ClientError> {
        let reply = self.call("GET", "/gm/matches", None).await?;
        Ok(serde_json::from_value(reply["matches"].clone())?)
    }

    /// `approve`, `open`, `stop` or `cancel` a match.
    ///
    /// # Errors
    /// 6011 when the state does not allow it, 6010 no such match.
    pub async fn act(&self, id: u64, action: &str) -> Result<Match, ClientError> {
        Ok(serde_json::from_value(self.call("POST", &format!("/gm/matches/{id}/{action}"), None).await?)?)
    }

    /// Sets the result (`Some(option)`) or no result (`None`).
    ///
    /// # Errors
    /// As [`Admin::act`].
    pub async fn settle(&self, id: u64, winner: Option<&str>) -> Result<Match, ClientError> {
        let body = match winner {
            Some(option) => json!({ "option": option }),
            None => json!({ "no_result": true }),
        };
        Ok(serde_json::from_value(self.call("POST", &format!("/gm/matches/{id}/result"), Some(body)).await?)?)
    }

    /// Adds coins to a user; returns the new balance.
    ///
    /// # Errors
    /// 6015 no such user.
    pub async fn credit(&self, name: &str, amount: u64) -> Result<u64, ClientError> {
        let reply =
            self.call("POST", &format!("/gm/users/{name}/credit"), Some(json!({ "amount": amount }))).await?;
        Ok(serde_json::from_value(reply["balance"].clone())?)
    }

    /// Where every coin is (`GET /gm/audit`).
    ///
    /// # Errors
    /// 6020 for a wrong token; [`ClientError::Json`] for a malformed reply.
    pub async fn audit(&self) -> Result<Audit, ClientError> {
        let reply = self.call("GET", "/gm/audit", None).await?;
        let sum = |key: &str| -> Result<i128, ClientError> {
            let text = reply[key].as_str().unwrap_or_default();
            text.parse().map_err(|_| {
                let why = format!("audit.{key}: not a decimal string: {text:?}");
                ClientError::Json(<serde_json::Error as serde::de::Error>::custom(why))
            })
        };
        Ok(Audit {
            credited: sum("credited")?,
            balances: sum("balances")?,
            open_stakes: sum("open_stakes")?,
            house: sum("house")?,
            open_orders: serde_json::from_value(reply["open_orders"].clone())?,
            indexed_open: serde_json::from_value(reply["indexed_open"].clone())?,
            balanced: serde_json::from_value(reply["balanced"].clone())?,
        })
    }

    /// One HTTP/1.1 request on a fresh connection.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, ClientError> {
        let connect = |e: &dyn std::fmt::Display| ClientError::Connect(format!("{}: {e}", self.addr));
        let stream = TcpStream::connect(&self.addr).await.map_err(|e| connect(&e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| connect(&e))?;
        tokio::spawn(conn);
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.addr)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(Full::new(body))
            .map_err(|e| connect(&e))?;
        let response = sender.send_request(request).await.map_err(|e| connect(&e))?;
        let status = response.status();
        let bytes = response.into_body().collect().await.map_err(|e| connect(&e))?.to_bytes();
        let value = crate::connection::parse_body(&bytes);
        if status.is_success() {
            return Ok(value);
        }
        let code = value.get("code").and_then(Value::as_u64).unwrap_or(u64::from(status.as_u16()));
        let msg = value.get("msg").and_then(Value::as_str).unwrap_or_else(|| status.as_str()).to_owned();
        Err(ClientError::Status { code: u32::try_from(code).unwrap_or(u32::MAX), msg })
    }
}
