// The betting app's client protocol (docs/betting.md, "Client protocol"):
// its command and push ids, and the bodies of its requests, replies and
// pushes as types. The types mirror the Rust structs that make them
// (examples/betting/src/handlers.rs, views.rs, app.rs); ids above 2^53 come
// as decimal strings.
//
//   import { EspoirClient } from "./espoir-client.js";
//   import { BETTING } from "./espoir-betting.js";
//   /** @type {EspoirClient<import("./espoir-betting.js").BettingApi>} */
//   const client = new EspoirClient(url);
//   const me = await client.request(BETTING.login, { name, password }); // LoginReply
//   client.on(BETTING.settled, (s) => show(s.balance));                 // SettlementPush

/** Command ids (requests) and push ids of the betting app. */
export const BETTING = Object.freeze({
  /** 100002: log in, creating the user on first login. */
  login: 100002,
  /** 100010: list matches. */
  list: 100010,
  /** 100011: one match. */
  detail: 100011,
  /** 100020: place a bet. */
  bet: 100020,
  /** 100021: the user's orders, newest 100 first. */
  myBets: 100021,
  /** 100030: the user's balance. */
  balance: 100030,
  /** 10000: heartbeat, answered by the proxy. */
  heartbeat: 10000,
  /** Push 100100: a match the user bet on changed state. */
  stateChanged: 100100,
  /** Push 100101: one of the user's orders was settled or refunded. */
  settled: 100101,
});

/** `iGuessState` by number (docs/betting.md, "Matches and their states"). */
export const MATCH_STATES = Object.freeze({
  0: "not started",
  1: "betting stopped",
  2: "betting open",
  3: "settling",
  4: "settled",
  5: "closed",
  6: "cancelled",
  7: "no result",
  8: "refunded",
  9: "paid out",
});

/**
 * `iGuessState`: 0 not started, 1 betting stopped, 2 betting open,
 * 3 settling, 4 settled, 5 closed, 6 cancelled, 7 no result, 8 refunded,
 * 9 paid out (orders only).
 * @typedef {0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9} MatchState
 */

/**
 * An order's final states: 4 lost, 8 refunded, 9 won (paid out); 0 while
 * open.
 * @typedef {0 | 4 | 8 | 9} OrderStatus
 */

/**
 * 100002 request.
 * @typedef {object} LoginRequest
 * @property {string} name A new name creates the user.
 * @property {string} password (`passwd` is accepted too, as obespoir's demo client sends.)
 */

/**
 * 100002 reply.
 * @typedef {object} LoginReply
 * @property {number} uid
 * @property {string} name
 * @property {number} balance Coins.
 * @property {boolean} created True when this login created the user.
 */

/**
 * 100010 request; every field is optional.
 * @typedef {object} ListRequest
 * @property {string} [type] Only matches of this type (`football`, …).
 * @property {"doing" | "finished" | "all"} [status] Default `all`.
 */

/**
 * An option of a match and its decimal odds.
 * @typedef {object} MatchOption
 * @property {string} name
 * @property {number} odds Decimal odds (2.5).
 */

/**
 * A match as clients see it.
 * @typedef {object} Match
 * @property {number} id
 * @property {string} type Sport or game.
 * @property {string} home
 * @property {string} away
 * @property {number} start_time Unix seconds.
 * @property {MatchState} state
 * @property {MatchOption[]} options
 * @property {string | null} result The winning option's name, once known.
 */

/**
 * 100010 reply.
 * @typedef {object} ListReply
 * @property {Match[]} matches By id.
 */

/**
 * 100011 request.
 * @typedef {object} DetailRequest
 * @property {number} match_id
 */

/**
 * 100020 request.
 * @typedef {object} BetRequest
 * @property {number} match_id
 * @property {string} option The option's name.
 * @property {number} amount The stake, in coins.
 */

/**
 * 100020 reply.
 * @typedef {object} BetReply
 * @property {string} order_id Decimal (64-bit ids exceed JavaScript numbers).
 * @property {number} balance The balance after the stake was taken.
 */

/**
 * One of the user's orders.
 * @typedef {object} Order
 * @property {string} order_id Decimal.
 * @property {number} match_id
 * @property {string} option The option's name.
 * @property {number} amount The stake.
 * @property {OrderStatus} status
 * @property {number} payout What was credited.
 * @property {number} placed_at Unix milliseconds.
 */

/**
 * 100021 reply.
 * @typedef {object} MyBetsReply
 * @property {Order[]} orders Newest first.
 */

/**
 * 100030 reply.
 * @typedef {object} BalanceReply
 * @property {number} balance
 */

/**
 * 10000 reply.
 * @typedef {object} HeartbeatReply
 * @property {200} code
 */

/**
 * An empty request body.
 * @typedef {Record<string, never>} Empty
 */

/**
 * Push 100100: a match the user bet on changed state.
 * @typedef {object} StatePush
 * @property {number} match_id
 * @property {MatchState} state Its new state.
 * @property {string | null} result The winning option's name, once known.
 */

/**
 * Push 100101: one of the user's orders was settled or refunded.
 * @typedef {object} SettlementPush
 * @property {string} order_id Decimal.
 * @property {number} match_id
 * @property {number} stake
 * @property {number} payout What was credited (0 for a lost bet, the stake for a refund).
 * @property {number} balance The balance right after the credit.
 * @property {4 | 8 | 9} status 4 lost, 8 refunded, 9 won.
 */

/**
 * The betting app's protocol, for `EspoirClient<BettingApi>`: each
 * request's body and reply by command id, each push's body by push id.
 * @typedef {object} BettingApi
 * @property {{
 *   100002: { request: LoginRequest, reply: LoginReply },
 *   100010: { request: ListRequest, reply: ListReply },
 *   100011: { request: DetailRequest, reply: Match },
 *   100020: { request: BetRequest, reply: BetReply },
 *   100021: { request: Empty, reply: MyBetsReply },
 *   100030: { request: Empty, reply: BalanceReply },
 *   10000: { request: Empty, reply: HeartbeatReply },
 * }} requests
 * @property {{ 100100: StatePush, 100101: SettlementPush }} pushes
 */
