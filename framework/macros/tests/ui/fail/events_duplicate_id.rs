mod auth {
    use espoir::{Context, Status, register_event};

    #[register_event(100002)]
    pub async fn login(_ctx: Context) -> Result<(), Status> {
        Ok(())
    }
}

mod shop {
    use espoir::{Context, Status, register_event};

    #[register_event(100001)]
    pub async fn list(_ctx: Context) -> Result<(), Status> {
        Ok(())
    }

    #[register_event(100002)]
    pub async fn buy(_ctx: Context, _item: u32) -> Result<(), Status> {
        Ok(())
    }
}

fn main() {
    #[rustfmt::skip]
    let _table = espoir::events![
        auth::login,
        shop::list,
        shop::buy,
    ];
    let _twice = espoir::events![shop::list, shop::list];
}
