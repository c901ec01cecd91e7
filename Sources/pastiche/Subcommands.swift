import ArgumentParser

/// Every top-level subcommand, in the order `--help` lists them.
let registeredSubcommands: [ParsableCommand.Type] = [
    // ImageCommand.self,
]
