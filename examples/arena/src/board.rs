//! The game itself, without I/O or time: a grid, the players on it, the
//! coins left, and the scores. The tick loop (`round`) feeds it the
//! players' moves; everything here is decided by its inputs and a seed,
//! so two runs with the same moves end the same.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Smallest side of the grid.
pub const MIN_SIDE: u16 = 4;
/// Largest side of the grid.
pub const MAX_SIDE: u16 = 64;
/// Most players on a board (a match's largest size).
pub const MAX_PLAYERS: usize = 4;

/// A cell, `(x, y)`, `(0, 0)` top left.
pub type Cell = (u16, u16);

/// A move: one cell per tick at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// `y - 1`.
    Up,
    /// `y + 1`.
    Down,
    /// `x - 1`.
    Left,
    /// `x + 1`.
    Right,
}

/// A player on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Player {
    /// Where they stand.
    pub cell: Cell,
    /// Coins collected.
    pub score: u32,
    /// Out of the round (their seat lapsed or they left): they no longer
    /// move, and keep their score.
    pub out: bool,
}

/// Why a board cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoardError {
    /// A side outside `MIN_SIDE..=MAX_SIDE`.
    #[error("the grid is {width}x{height}; each side is {MIN_SIDE} to {MAX_SIDE}")]
    Size {
        /// The width asked for.
        width: u16,
        /// The height asked for.
        height: u16,
    },
    /// More coins than free cells, or none.
    #[error("{coins} coins do not fit a {width}x{height} grid with {players} players (1 to {max})")]
    Coins {
        /// Coins asked for.
        coins: usize,
        /// The width.
        width: u16,
        /// The height.
        height: u16,
        /// Players placed.
        players: usize,
        /// Most coins that fit.
        max: usize,
    },
    /// No player, too many, or one twice.
    #[error("a board takes 1 to {MAX_PLAYERS} distinct players, not {0}")]
    Players(usize),
}

/// The grid, its players and its coins.
#[derive(Debug, Clone)]
pub struct Board {
    width: u16,
    height: u16,
    players: BTreeMap<String, Player>,
    coins: BTreeSet<Cell>,
}

impl Board {
    /// A `width` × `height` board with `players` in its corners (in the
    /// order given) and `coins` coins on free cells drawn from `seed`.
    ///
    /// # Errors
    /// [`BoardError`] for a side out of bounds, a bad player list, or
    /// coins that do not fit.
    pub fn new(
        width: u16,
        height: u16,
        players: &[String],
        coins: usize,
        seed: u64,
    ) -> Result<Board, BoardError> {
        if !(MIN_SIDE..=MAX_SIDE).contains(&width) || !(MIN_SIDE..=MAX_SIDE).contains(&height) {
            return Err(BoardError::Size { width, height });
        }
        let distinct: BTreeSet<&String> = players.iter().collect();
        if players.is_empty() || players.len() > MAX_PLAYERS || distinct.len() != players.len() {
            return Err(BoardError::Players(players.len()));
        }
        let free = usize::from(width) * usize::from(height) - players.len();
        if coins == 0 || coins > free {
            return Err(BoardError::Coins { coins, width, height, players: players.len(), max: free });
        }
        let corners = [(0, 0), (width - 1, height - 1), (width - 1, 0), (0, height - 1)];
        let players: BTreeMap<String, Player> = players
            .iter()
            .zip(corners)
            .map(|(uid, cell)| (uid.clone(), Player { cell, score: 0, out: false }))
            .collect();
        let taken: BTreeSet<Cell> = players.values().map(|p| p.cell).collect();
        let mut rng = SplitMix(seed);
        let mut placed = BTreeSet::new();
        // Rejection sampling, bounded: past the bound the free cells are
        // taken in order, so a crowded board is still made.
        for _ in 0..coins * 16 {
            if placed.len() == coins {
                break;
            }
            let cell = (rng.below(width), rng.below(height));
            if !taken.contains(&cell) {
                placed.insert(cell);
            }
        }
        let cells = (0..height).flat_map(|y| (0..width).map(move |x| (x, y)));
        for cell in cells {
            if placed.len() == coins {
                break;
            }
            if !taken.contains(&cell) {
                placed.insert(cell);
            }
        }
        Ok(Board { width, height, players, coins: placed })
    }

    /// Moves `uid` one cell (walls stop it; players may share a cell) and
    /// collects the coin there. Returns whether the player moved; an
    /// unknown or out player does not.
    pub fn steer(&mut self, uid: &str, dir: Dir) -> bool {
        let (width, height) = (self.width, self.height);
        let Some(player) = self.players.get_mut(uid).filter(|p| !p.out) else { return false };
        let (x, y) = player.cell;
        let to = match dir {
            Dir::Up => (x, y.saturating_sub(1)),
            Dir::Down => (x, (y + 1).min(height - 1)),
            Dir::Left => (x.saturating_sub(1), y),
            Dir::Right => ((x + 1).min(width - 1), y),
        };
        if to == player.cell {
            return false;
        }
        player.cell = to;
        if self.coins.remove(&to) {
            player.score += 1;
        }
        true
    }

    /// Takes `uid` out of the round: it keeps its score and stops moving.
    /// Returns whether it was in.
    pub fn take_out(&mut self, uid: &str) -> bool {
        match self.players.get_mut(uid) {
            Some(player) if !player.out => {
                player.out = true;
                true
            }
            _ => false,
        }
    }

    /// The players, by user id.
    pub fn players(&self) -> &BTreeMap<String, Player> {
        &self.players
    }

    /// Players still in the round.
    pub fn players_in(&self) -> usize {
        self.players.values().filter(|p| !p.out).count()
    }

    /// The coins left.
    pub fn coins(&self) -> &BTreeSet<Cell> {
        &self.coins
    }

    /// `(width, height)`.
    pub fn size(&self) -> (u16, u16) {
        (self.width, self.height)
    }

    /// Every player with their score, best first (ties by user id), and
    /// the winner: the one best score, if no one shares it.
    pub fn standings(&self) -> (Vec<(String, u32)>, Option<String>) {
        let mut scores: Vec<(String, u32)> =
            self.players.iter().map(|(uid, p)| (uid.clone(), p.score)).collect();
        scores.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let winner = match scores.as_slice() {
            [first, second, ..] if first.1 == second.1 => None,
            [first, ..] if first.1 > 0 => Some(first.0.clone()),
            _ => None,
        };
        (scores, winner)
    }
}

/// splitmix64: a few lines, enough to scatter coins reproducibly.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u16) -> u16 {
        (self.next() % u64::from(n)) as u16
    }
}
