import ArgumentParser
import Foundation
import PasticheImage

/// `pastiche image …`: inspect and convert PNG/JPEG files with the same I/O the models use.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Inspect and convert PNG/JPEG images.",
        subcommands: [Info.self, Convert.self]
    )
}
