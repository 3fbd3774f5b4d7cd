//! `chaos`: parses the command line, sets up logging, makes the process's one runtime and turns
//! how the subcommand ended into the exit code. The subcommands are in `chaos::cli`.

use std::process::ExitCode;

use chaos::cli::{Cli, Command};
use runfiles::Exit;

fn main() -> ExitCode {
    let command = match runfiles::exit::parse_args::<Cli>("chaos") {
        Ok(cli) => cli.command,
        Err(ended) => return ended.into(),
    };
    if let Command::Proxy { listen, config } = &command {
        // The `faultproxy` server: the same code, flags, logs and exit codes.
        return faultproxy::serve::main("chaos proxy", listen, config.as_deref());
    }
    command.logging().init();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(command.run()).into(),
        Err(e) => {
            eprintln!("chaos: cannot start the async runtime: {e}");
            Exit::Broken.into()
        }
    }
}
