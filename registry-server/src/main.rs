use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "registry-server: the HTTP API is not implemented yet (see the README's status section)"
    );
    ExitCode::from(2)
}
