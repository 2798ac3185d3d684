use std::process::ExitCode;

fn main() -> ExitCode {
    registry_cli::main(std::env::args_os())
}
