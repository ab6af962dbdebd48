//! The board's rules: placement, moves against walls, collecting,
//! taking players out, standings, and refused boards.

use super::board::*;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn players_start_in_corners_and_coins_land_on_free_cells() {
    let board = Board::new(6, 5, &names(&["ann", "bob", "cat", "dan"]), 10, 7).unwrap();
    let cells: Vec<Cell> = board.players().values().map(|p| p.cell).collect();
    assert_eq!(board.players()["ann"].cell, (0, 0));
    assert_eq!(board.players()["bob"].cell, (5, 4));
    assert_eq!(board.players()["cat"].cell, (5, 0));
    assert_eq!(board.players()["dan"].cell, (0, 4));
    assert_eq!(board.coins().len(), 10);
    assert!(board.coins().iter().all(|c| !cells.contains(c) && c.0 < 6 && c.1 < 5));
    // The same seed scatters the same coins.
    let again = Board::new(6, 5, &names(&["ann", "bob", "cat", "dan"]), 10, 7).unwrap();
    assert_eq!(again.coins(), board.coins());
}

#[test]
fn a_full_board_still_places_every_coin() {
    let board = Board::new(4, 4, &names(&["ann", "bob"]), 14, 1).unwrap();
    assert_eq!(board.coins().len(), 14);
}

#[test]
fn walls_stop_moves_and_players_may_share_a_cell() {
    let mut board = Board::new(4, 4, &names(&["ann", "bob"]), 1, 3).unwrap();
    assert!(!board.steer("ann", Dir::Up), "a wall");
    assert!(!board.steer("ann", Dir::Left), "a wall");
    for _ in 0..3 {
        board.steer("ann", Dir::Right);
        board.steer("ann", Dir::Down);
    }
    assert!(!board.steer("ann", Dir::Right));
    assert!(!board.steer("ann", Dir::Down));
    assert_eq!(board.players()["ann"].cell, board.players()["bob"].cell);
    assert!(!board.steer("nobody", Dir::Up));
}

#[test]
fn stepping_on_a_coin_collects_it_once() {
    let mut board = Board::new(4, 4, &names(&["ann"]), 15, 9).unwrap();
    // Every free cell has a coin: the first step collects one.
    assert!(board.steer("ann", Dir::Right));
    assert_eq!((board.players()["ann"].score, board.coins().len()), (1, 14));
    board.steer("ann", Dir::Left);
    board.steer("ann", Dir::Right);
    assert_eq!(board.players()["ann"].score, 1, "(0,0) had no coin, (1,0)'s was taken already");
    board.steer("ann", Dir::Down);
    assert_eq!((board.players()["ann"].score, board.coins().len()), (2, 13));
}

#[test]
fn a_player_taken_out_keeps_the_score_and_stops() {
    let mut board = Board::new(5, 5, &names(&["ann", "bob"]), 23, 2).unwrap();
    board.steer("ann", Dir::Right);
    assert!(board.take_out("ann"));
    assert!(!board.take_out("ann"), "once");
    assert!(!board.steer("ann", Dir::Right));
    assert_eq!((board.players()["ann"].score, board.players_in()), (1, 1));
}

#[test]
fn standings_rank_by_score_and_a_tie_has_no_winner() {
    let mut board = Board::new(5, 5, &names(&["ann", "bob"]), 23, 2).unwrap();
    assert_eq!(board.standings().1, None, "nobody scored");
    board.steer("bob", Dir::Left);
    let (scores, winner) = board.standings();
    assert_eq!(scores, [("bob".to_owned(), 1), ("ann".to_owned(), 0)]);
    assert_eq!(winner.as_deref(), Some("bob"));
    board.steer("ann", Dir::Right);
    assert_eq!(board.standings().1, None, "one each");
}

#[test]
fn bad_boards_are_refused_saying_why() {
    let two = names(&["ann", "bob"]);
    assert!(matches!(Board::new(3, 8, &two, 1, 0), Err(BoardError::Size { .. })));
    assert!(matches!(Board::new(8, 65, &two, 1, 0), Err(BoardError::Size { .. })));
    assert!(matches!(Board::new(4, 4, &two, 0, 0), Err(BoardError::Coins { .. })));
    assert!(matches!(Board::new(4, 4, &two, 15, 0), Err(BoardError::Coins { max: 14, .. })));
    assert_eq!(Board::new(4, 4, &[], 1, 0).unwrap_err(), BoardError::Players(0));
    assert_eq!(Board::new(4, 4, &names(&["a", "a"]), 1, 0).unwrap_err(), BoardError::Players(2));
    assert_eq!(
        Board::new(4, 4, &names(&["a", "b", "c", "d", "e"]), 1, 0).unwrap_err(),
        BoardError::Players(5)
    );
    let err = Board::new(4, 4, &two, 15, 0).unwrap_err().to_string();
    assert!(err.contains("1 to 14"), "{err}");
}
