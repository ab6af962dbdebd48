//! `events![]` with paths into modules, imports, `self`/`super`/`crate`,
//! raw identifiers, an empty list and a trailing comma.

use espoir::{EventHandler, EventTable, events};

mod auth {
    use espoir::{Context, EventTable, Status, events, register_event};

    #[register_event(100)]
    pub async fn login(_ctx: Context, name: String) -> Result<String, Status> {
        Ok(name)
    }

    #[register_event(101)]
    pub(crate) async fn logout(_ctx: Context) -> Result<(), Status> {
        Ok(())
    }

    // Private: only this module can list it.
    #[register_event(102)]
    async fn refresh(_ctx: Context) -> Result<(), Status> {
        Ok(())
    }

    pub mod admin {
        use espoir::{Context, Status, register_event};

        #[register_event(103)]
        pub async fn r#kick(_ctx: Context, _player: u64) -> Result<(), Status> {
            Ok(())
        }
    }

    pub fn events() -> EventTable {
        events![self::login, logout, refresh, super::shop::buy]
    }
}

mod shop {
    use espoir::{Context, Status, register_event};

    #[register_event(200)]
    pub async fn buy(_ctx: Context, item: u32) -> Result<u32, Status> {
        Ok(item)
    }

    #[register_event(201)]
    pub async fn r#type(_ctx: Context) -> Result<(), Status> {
        Ok(())
    }
}

use shop::r#type;

fn main() {
    let empty: EventTable = events![];
    assert!(empty.is_empty());

    let table = events![crate::auth::admin::kick, r#type,];
    assert_eq!(table.ids(), [103, 201]);
    assert_eq!(table.get(201).unwrap().name(), concat!(module_path!(), "::shop::type"));
    assert_eq!(auth::admin::kick {}.name(), concat!(module_path!(), "::auth::admin::kick"));

    let merged = auth::events().merge(table).unwrap();
    assert_eq!(merged.ids(), [100, 101, 102, 103, 200, 201]);
}
