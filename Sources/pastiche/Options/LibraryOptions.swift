import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools

/// `--library PATH`: every command that reads or writes the style library takes it.
struct LibraryOptions: ParsableArguments {
    @Option(name: .long, help: "Style library directory (LMDB). Default: $PASTICHE_HOME/library.")
    var library: String?

    var path: String { PasticheHome().library(library) }
}
