import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools

/// `--tile N`: process every layer of both networks in bands of N output rows. Instance-norm
/// statistics are always taken over the whole image, so the result does not depend on N (up to
/// float rounding).
struct TileOptions: ParsableArguments {
    @Option(help: "Band height in rows for each layer's work buffers (default: automatic, about 2 MB per band).")
    var tile: Int?

    func validate() throws {
        if let tile, tile < 1 || tile > 1 << 16 { throw ValidationError("--tile must be from 1 to 65536 rows, got \(tile)") }
    }

    var options: ExecutionOptions { ExecutionOptions(bandRows: tile) }
}
