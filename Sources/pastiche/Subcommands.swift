import ArgumentParser

/// Every top-level subcommand, in the order `--help` lists them.
let registeredSubcommands: [ParsableCommand.Type] = [
    StylizeCommand.self,
    BlendCommand.self,
    InterpolateCommand.self,
    EmbedCommand.self,
    ModelCommand.self,
    BenchCommand.self,
    DoctorCommand.self,
    ImageCommand.self,
    TrainCommand.self,
    EvalCommand.self,
    DataCommand.self,
]
