use espoir::register_event;

#[register_event(1)]
struct Login {
    name: String,
}

fn main() {}
