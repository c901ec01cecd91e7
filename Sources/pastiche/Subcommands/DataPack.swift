import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTraining

struct DataPackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Decode and resize every image under a folder into one LMDB file for fast epochs.")

    @Argument(help: "Folder of JPEG/PNG images (searched recursively).") var folder: String
    @Option(name: .shortAndLong, help: "Output LMDB directory (e.g. content.lmdb).") var output: String
    @Option(name: .customLong("max-side"), help: "Reduce the shortest side to at most this (default fits --size 256 training).")
    var maxSide: Int = BatchSampler.cacheSide(size: 256)

    func validate() throws {
        if maxSide < 16 { throw ValidationError("--max-side must be at least 16") }
    }

    func run() throws {
        let n = try DataPack.pack(folder, to: output, maxSide: maxSide) { i, n in Terminal.progress("packed \(i)/\(n)") }
        Terminal.endProgress()
        Terminal.note("wrote \(output) (\(n) images)")
    }
}
